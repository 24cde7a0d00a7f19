import {
  type BackedUpApp,
  type DocumentChange,
  HokanError,
  type RegistryEntry,
  randomId,
  systemRuntime,
} from "@hokan/core";
import { signDevelopmentToken } from "@hokan/server";
import { firstValueFrom } from "rxjs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type Cluster,
  type DatabaseKind,
  Device,
  type HubDevice,
  MAIL,
  NOTES,
  settled,
  startCluster,
  startHub,
  until,
} from "../src/harness.js";

/**
 * The modelled service's failures, tried against the real server over HTTP with IndexedDB: a first-launch default
 * never replaces the backup, the backed-up apps list follows the account on every device, and no failure ends in
 * silence.
 */

const all = ["backup", "restore", "bulkBackup", "bulkDelete"] as const;
const REGISTRY: RegistryEntry[] = [
  { appId: MAIL.appId, platform: "android", capabilities: [...all] },
  { appId: NOTES.appId, platform: "android", capabilities: [...all] },
];

const BACKED_UP = { version: 3, accepted: true };
const DEFAULT = { version: 0, accepted: false };

for (const kind of ["pglite", "postgres"] as DatabaseKind[]) {
  describe(`honest outcomes on ${kind}`, () => {
    let cluster: Cluster;
    const devices: Device[] = [];
    const hubs: HubDevice[] = [];
    const account = () => `acct-${randomId(systemRuntime)}`;
    const device = (id: string, accountId: string, options: ConstructorParameters<typeof Device>[4] = {}) => {
      const d = new Device(
        cluster.proxy.url,
        `${id}-${randomId(systemRuntime)}`,
        accountId,
        "android",
        options,
      );
      devices.push(d);
      return d;
    };
    const hubOn = async (id: string, accountId: string, options: Parameters<typeof startHub>[2] = {}) => {
      const h = await startHub(cluster.proxy.url, `${id}-${randomId(systemRuntime)}`, options);
      hubs.push(h);
      await h.hub.setAccount(accountId);
      return h;
    };
    const stored = async (accountId: string, appId: string, collection: string, id: string) => {
      const [row] = await cluster.db.query<{ data: unknown; is_default: boolean }>(
        "SELECT data, is_default FROM documents WHERE account_id = $1 AND app_id = $2 AND collection = $3 AND id = $4",
        [accountId, appId, collection, id],
      );
      return row;
    };
    const rowOf = (list: readonly BackedUpApp[], appId: string) => list.find((r) => r.appId === appId);
    /** Waits for the hub's list to satisfy `ok`, without asking it to refresh. */
    const listUntil = async (h: HubDevice, ok: (list: readonly BackedUpApp[]) => boolean) => {
      let list: readonly BackedUpApp[] = [];
      const sub = h.hub.apps$.subscribe((l) => {
        list = l;
      });
      try {
        await until(() => ok(list), 10_000);
      } finally {
        sub.unsubscribe();
      }
    };

    beforeAll(async () => {
      cluster = await startCluster(kind, REGISTRY);
    });
    afterEach(async () => {
      cluster.proxy.offline = false;
      for (const d of devices.splice(0)) await d.close();
      for (const h of hubs.splice(0)) await h.close();
    });
    afterAll(async () => {
      await cluster.close();
    });

    it("1: a first-launch default written offline after the restore timeout never replaces the backup", async () => {
      const a = account();
      const old = device("old", a);
      await (await old.start(MAIL)).put("consent", "tos", BACKED_UP);
      await settled([old]);
      const fresh = device("new", a, { online: false });
      const mail = await fresh.start({ ...MAIL, restoreFirstMs: 1000 });
      const seen: DocumentChange[] = [];
      mail.changes$.subscribe((c) => seen.push(c));
      expect(await mail.putDefault("consent", "tos", DEFAULT)).toBe(true);
      expect(await mail.get("consent", "tos")).toEqual(DEFAULT);
      fresh.setOnline(true);
      await until(async () => JSON.stringify(await mail.get("consent", "tos")) === JSON.stringify(BACKED_UP));
      await settled([old, fresh]);
      expect(await stored(a, MAIL.appId, "consent", "tos")).toEqual({ data: BACKED_UP, is_default: false });
      expect(mail.status.pending).toBe(0);
      expect(seen.map((c) => [c.origin, c.data])).toEqual([
        ["local", DEFAULT],
        ["remote", BACKED_UP],
      ]);
      // Where the backup holds nothing, the default is backed up as one; an edit on another device replaces it.
      expect(await mail.putDefault("settings", "theme", { mode: "light" })).toBe(true);
      await until(async () => (await stored(a, MAIL.appId, "settings", "theme"))?.is_default === true);
      const other = await old.app(MAIL.appId);
      await until(async () => (await other.get("settings", "theme")) !== undefined);
      await other.put("settings", "theme", { mode: "dark" });
      await until(async () => JSON.stringify(await mail.get("settings", "theme")) === '{"mode":"dark"}');
      expect(await stored(a, MAIL.appId, "settings", "theme")).toEqual({
        data: { mode: "dark" },
        is_default: false,
      });
    });

    it("2: every device's backed-up apps list follows a backup, a bulk backup and a bulk delete within a live round trip", async () => {
      const a = account();
      const h1 = await hubOn("phone", a);
      const h2 = await hubOn("tablet", a);
      const mail1 = await h1.hub.register({ ...MAIL, name: "Mail" });
      const notes1 = await h1.hub.register({ ...NOTES, name: "Notes" });
      const mail2 = await h2.hub.register({ ...MAIL, name: "Mail" });
      await mail1.whenIdle({ timeoutMs: 10_000 });
      await mail2.whenIdle({ timeoutMs: 10_000 });
      await mail1.put("settings", "theme", { mode: "dark" });
      await listUntil(h2, (l) => {
        const row = rowOf(l, MAIL.appId);
        return row?.documents === 1 && row.lastBackupAt !== undefined;
      });
      // Notes is not on the tablet: its row comes from the account's catalog.
      await notes1.put("prefs", "p", { v: 1 });
      await listUntil(h2, (l) => rowOf(l, NOTES.appId)?.documents === 1);
      expect(rowOf(await firstValueFrom(h2.hub.apps$), NOTES.appId)).toMatchObject({
        onDevice: false,
        state: "not-on-device",
      });
      await mail1.put("settings", "font", { size: 12 });
      const results = await h1.hub.bulkBackup({ timeoutMs: 10_000 });
      expect(results.map((r) => [r.appId, r.outcome, r.acknowledged])).toEqual([
        [MAIL.appId, "backed-up", true],
        [NOTES.appId, "backed-up", true],
      ]);
      await listUntil(h2, (l) => rowOf(l, MAIL.appId)?.documents === 2);
      const deleted = await h1.hub.bulkDelete();
      expect(deleted.apps.map((x) => x.appId)).toEqual([MAIL.appId, NOTES.appId]);
      await listUntil(
        h2,
        (l) => rowOf(l, NOTES.appId) === undefined && rowOf(l, MAIL.appId)?.documents === 0,
      );
      // A new device's list is right once its restore is in.
      await mail1.put("settings", "after", { v: 1 });
      await listUntil(h2, (l) => rowOf(l, MAIL.appId)?.documents === 1);
      const h3 = await hubOn("new", a);
      const mail3 = await h3.hub.register({ ...MAIL, name: "Mail" });
      await until(async () => (await mail3.get("settings", "after")) !== undefined);
      await listUntil(
        h3,
        (l) => rowOf(l, MAIL.appId)?.documents === 1 && rowOf(l, MAIL.appId)?.state === "up-to-date",
      );
    });

    it("3: start() of an app the registry does not know resolves and says unsupported; a refused token says unauthorized", async () => {
      const a = account();
      const phone = device("phone", a);
      const unknown = await phone.start({
        appId: "jp.example.unknown",
        appVersion: "1.0.0",
        collections: { s: "lww" },
      });
      await until(() => unknown.status.reason === "unsupported");
      expect(unknown.status.state).toMatch(/idle|fatal/);
      const forged = device("forged", a);
      const wrongKey = () =>
        signDevelopmentToken("another-secret-0123456789abcdef0123456789", { account: a });
      const refused = await forged.start(MAIL, cluster.proxy.url, wrongKey);
      await until(() => refused.status.state === "fatal");
      expect(refused.status).toMatchObject({ reason: "unauthorized", lastError: { code: "unauthorized" } });
      const result = await refused.sync({ timeoutMs: 5000 });
      expect(result).toMatchObject({ outcome: "failed", acknowledged: false, reason: "unauthorized" });
    });

    it("3: with the server down, whenIdle() gives up after its timeout, bulk backup fails and bulk delete rejects, typed", async () => {
      const a = account();
      const h = await hubOn("phone", a);
      const mail = await h.hub.register(MAIL);
      await mail.whenIdle({ timeoutMs: 10_000 });
      // The server is gone: new connections refused, open ones cut.
      cluster.proxy.offline = true;
      cluster.proxy.cutAll();
      await mail.put("settings", "x", { v: 1 });
      const waited = await mail.whenIdle({ timeoutMs: 1500 });
      expect(waited).toMatchObject({ idle: false, acknowledged: false });
      expect(waited.status.pending).toBe(1);
      const results = await h.hub.bulkBackup({ timeoutMs: 5000 });
      const [first] = results;
      expect(first).toMatchObject({ outcome: "failed", acknowledged: false, pending: 1 });
      expect(["network", "timeout"]).toContain(first?.outcome === "failed" ? first.error.code : undefined);
      const error = await h.hub.bulkDelete().catch((e: unknown) => e);
      expect(HokanError.is(error)).toBe(true);
      expect((error as HokanError).retryable).toBe(true);
      cluster.proxy.offline = false;
      const ok = await mail.sync({ timeoutMs: 10_000 });
      expect(ok).toMatchObject({ outcome: "synced", acknowledged: true, pending: 0 });
      expect(await stored(a, MAIL.appId, "settings", "x")).toMatchObject({ data: { v: 1 } });
    });
  });
}
