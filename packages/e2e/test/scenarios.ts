import { jsonEqual, type RegistryEntry, randomId, systemRuntime } from "@hokan/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CLEAN } from "../src/fault-proxy.js";
import {
  type Cluster,
  type DatabaseKind,
  Device,
  type DeviceKind,
  type E2EApp,
  MAIL,
  NOTES,
  settingsScreen,
  settled,
  startCluster,
  until,
} from "../src/harness.js";

const LEGACY: E2EApp = { appId: "jp.example.legacy", appVersion: "1.0.0", collections: { settings: "lww" } };
const STRICT: E2EApp = { appId: "jp.example.strict", appVersion: "3.9.0", collections: { consent: "lww" } };
const all = ["backup", "restore", "bulkBackup", "bulkDelete"] as const;
const REGISTRY: RegistryEntry[] = [
  { appId: MAIL.appId, platform: "android", capabilities: [...all] },
  { appId: MAIL.appId, platform: "ios", capabilities: ["restore"] },
  { appId: NOTES.appId, platform: "android", capabilities: [...all] },
  {
    appId: LEGACY.appId,
    platform: "android",
    capabilities: ["backup", "restore"],
    retiredAt: "2026-01-01T00:00:00Z",
    restoreGraceDays: 3650,
  },
  { appId: STRICT.appId, platform: "android", capabilities: ["backup", "restore"], minVersion: "4.0.0" },
];

/**
 * The end-to-end scenarios on a database kind, with devices of one kind: the browser's (IndexedDB, a streaming
 * `fetch`) or a phone's (SQLite, a `fetch` that cannot stream, so the live channel long-polls). `around` runs once the
 * cluster is up and once before it stops (the phone suite removes and restores the browser-only globals there).
 */
export function endToEndScenarios(
  kind: DatabaseKind,
  deviceKind: DeviceKind,
  around: { readonly started?: () => void; readonly stopping?: () => void } = {},
): void {
  describe(`end to end on ${kind}, ${deviceKind === "phone" ? "as on a phone" : "as in a browser"}`, () => {
    let cluster: Cluster;
    const devices: Device[] = [];
    const account = () => `acct-${randomId(systemRuntime)}`;
    const device = (
      id: string,
      accountId: string,
      options: ConstructorParameters<typeof Device>[4] = {},
      platform: "android" | "ios" = "android",
    ) => {
      const d = new Device(cluster.proxy.url, `${id}-${randomId(systemRuntime)}`, accountId, platform, {
        kind: deviceKind,
        ...options,
      });
      devices.push(d);
      return d;
    };
    const serverDocs = async (accountId: string, appId: string) => {
      const rows = await cluster.db.query<{ collection: string; id: string; data: unknown }>(
        "SELECT collection, id, data FROM documents WHERE account_id = $1 AND app_id = $2 AND data IS NOT NULL ORDER BY collection, id",
        [accountId, appId],
      );
      return Object.fromEntries(rows.map((r) => [`${r.collection}/${r.id}`, r.data]));
    };

    beforeAll(async () => {
      // A phone's process has none of the web globals the server's libraries use: the servers run as processes.
      cluster = await startCluster(kind, REGISTRY, 1, { processes: deviceKind === "phone" });
      around.started?.();
    });
    afterEach(async () => {
      cluster.proxy.faults = CLEAN;
      cluster.proxy.offline = false;
      for (const d of devices.splice(0)) await d.close();
    });
    afterAll(async () => {
      around.stopping?.();
      await cluster.close();
    });

    it("1: offline edits queue, survive app restarts, and arrive once online", async () => {
      const a = account();
      const phone = device("phone", a, { online: false });
      const mail = await phone.start(MAIL);
      for (let v = 1; v <= 5; v++) await mail.put("settings", "theme", { v });
      await mail.put("consent", "tos", { version: 3, accepted: true });
      await phone.restart();
      expect(phone.app(MAIL.appId).status.pending).toBe(2);
      phone.setOnline(true);
      await until(async () => Object.keys(await serverDocs(a, MAIL.appId)).length === 2);
      expect(await serverDocs(a, MAIL.appId)).toEqual({
        "consent/tos": { version: 3, accepted: true },
        "settings/theme": { v: 5 },
      });
    });

    it("2: roaming with overseas use off holds backup and restore; overseas on releases them; backup off sends nothing", async () => {
      const a = account();
      const home = device("home", a);
      await (await home.start(MAIL)).put("settings", "lang", { v: "ja" });
      await settled([home]);
      const abroad = device("abroad", a);
      abroad.setRoaming(true);
      const mail = await abroad.start(MAIL);
      await mail.put("settings", "sig", { v: "from abroad" });
      await settled([abroad]);
      expect(mail.status.reason).toBe("roaming");
      expect(await mail.get("settings", "lang")).toBeUndefined();
      abroad.settings({ overseasEnabled: true });
      await until(
        async () => (await mail.get("settings", "lang")) !== undefined && mail.status.pending === 0,
      );
      expect((await serverDocs(a, MAIL.appId))["settings/sig"]).toEqual({ v: "from abroad" });
      abroad.settings({ backupEnabled: false });
      await mail.put("settings", "off", { v: 1 });
      await settled([abroad]);
      expect(mail.status.reason).toBe("disabled");
      expect((await serverDocs(a, MAIL.appId))["settings/off"]).toBeUndefined();
    });

    it("3: a new device restores the backup on first launch before the app's defaults can overwrite it", async () => {
      const a = account();
      const old = device("old", a);
      const m = await old.start(MAIL);
      await m.put("consent", "tos", { version: 3, accepted: true });
      await m.put("settings", "theme", { mode: "dark" });
      await settled([old]);
      const fresh = device("new", a);
      const app = await fresh.start({ ...MAIL, restoreFirstMs: 10_000 });
      // First launch: the app sets its defaults at once, as apps do; the guard holds them until the restore is in.
      const wrote = await Promise.all([
        app.putDefault("consent", "tos", { version: 0, accepted: false }),
        app.putDefault("settings", "theme", { mode: "light" }),
        app.putDefault("settings", "font", { size: 12 }),
      ]);
      expect(wrote).toEqual([false, false, true]);
      expect(await app.get("consent", "tos")).toEqual({ version: 3, accepted: true });
      expect(await app.get("settings", "theme")).toEqual({ mode: "dark" });
      await until(() => app.status.pending === 0);
      expect(await serverDocs(a, MAIL.appId)).toEqual({
        "consent/tos": { version: 3, accepted: true },
        "settings/font": { size: 12 },
        "settings/theme": { mode: "dark" },
      });
    });

    it("4: two devices edit one document offline and converge, different fields merged", async () => {
      const a = account();
      const d1 = device("d1", a);
      const d2 = device("d2", a);
      const [m1, m2] = [await d1.start(MAIL), await d2.start(MAIL)];
      await m1.put("settings", "prefs", { theme: "light", font: 12 });
      await until(async () => (await m2.get("settings", "prefs")) !== undefined);
      d1.setOnline(false);
      d2.setOnline(false);
      await m1.put("settings", "prefs", { theme: "dark", font: 12 });
      await m2.put("settings", "prefs", { theme: "light", font: 16 });
      d1.setOnline(true);
      d2.setOnline(true);
      const merged = { theme: "dark", font: 16 };
      await until(
        async () =>
          jsonEqual(await m1.get("settings", "prefs"), merged) &&
          jsonEqual(await m2.get("settings", "prefs"), merged),
      );
      expect((await serverDocs(a, MAIL.appId))["settings/prefs"]).toEqual(merged);
    });

    it("5: bulk delete while another device holds queued changes: the backup stays deleted", async () => {
      const a = account();
      const d1 = device("d1", a);
      const d2 = device("d2", a);
      const [m1, m2] = [await d1.start(MAIL), await d2.start(MAIL)];
      await m1.put("settings", "x", { v: 1 });
      await until(async () => (await m2.get("settings", "x")) !== undefined);
      d2.setOnline(false);
      await m2.put("settings", "x", { v: 2, queued: true });
      const screen = settingsScreen(cluster.proxy.url, a, deviceKind);
      await screen.deleteAll(`bulk-${randomId(systemRuntime)}`);
      expect((await screen.catalog()).apps).toEqual([]);
      d2.setOnline(true);
      await until(() => m2.status.pending === 0 && m2.status.epoch === 2);
      await settled([d1, d2]);
      expect(await serverDocs(a, MAIL.appId)).toEqual({});
      expect((await screen.catalog()).apps).toEqual([]);
      await m2.put("settings", "after", { v: 3 });
      await until(async () => Object.keys(await serverDocs(a, MAIL.appId)).length === 1);
      expect(await serverDocs(a, MAIL.appId)).toEqual({ "settings/after": { v: 3 } });
    });

    it("6: the catalog shows each app with its last backup time right after a backup, and nothing after a delete", async () => {
      const a = account();
      const phone = device("phone", a);
      const [mail, notes] = [await phone.start(MAIL), await phone.start(NOTES)];
      const before = Date.now();
      await mail.put("settings", "a", { v: 1 });
      await notes.put("prefs", "p", { v: 1 });
      await until(() => mail.status.pending === 0 && notes.status.pending === 0);
      const screen = settingsScreen(cluster.proxy.url, a, deviceKind);
      const catalog = await screen.catalog();
      expect(catalog.apps.map((x) => [x.appId, x.documents])).toEqual([
        [MAIL.appId, 1],
        [NOTES.appId, 1],
      ]);
      for (const x of catalog.apps) expect(x.lastBackupAt).toBeGreaterThanOrEqual(before - 1000);
      await screen.deleteApp(
        { appId: NOTES.appId, appVersion: "1.0.0", platform: "android" },
        `del-${randomId(systemRuntime)}`,
      );
      expect((await screen.catalog()).apps.map((x) => x.appId)).toEqual([MAIL.appId]);
    });

    it("7: a retired app backs up nothing and says `retired`", async () => {
      const legacy = await device("phone", account()).start(LEGACY);
      await legacy.put("settings", "a", { v: 1 });
      await until(() => legacy.status.backup.kind === "denied");
      expect(legacy.status.backup).toEqual({ kind: "denied", reason: "retired" });
      expect(legacy.status.pending).toBe(1);
    });

    it("8: a client below the minimum version keeps its data, and syncs after upgrading", async () => {
      const a = account();
      const phone = device("phone", a);
      const strict = await phone.start(STRICT);
      await strict.put("consent", "tos", { version: 7, accepted: true });
      await until(() => strict.status.backup.kind === "denied");
      expect(strict.status.backup).toEqual({ kind: "denied", reason: "upgrade-required" });
      strict.setAppVersion("4.0.0");
      await until(() => strict.status.pending === 0);
      expect(await serverDocs(a, STRICT.appId)).toEqual({ "consent/tos": { version: 7, accepted: true } });
    });

    it("9: an iOS app that can only restore restores, and holds its backup with `capability`", async () => {
      const a = account();
      const android = await device("android", a).start(MAIL);
      await android.put("settings", "x", { v: 1 });
      await until(() => android.status.pending === 0);
      const iphone = await device("iphone", a, {}, "ios").start(MAIL);
      await iphone.put("settings", "y", { v: 2 });
      await until(async () => (await iphone.get("settings", "x")) !== undefined);
      expect(iphone.status.backup).toEqual({ kind: "denied", reason: "capability" });
      expect(Object.keys(await serverDocs(a, MAIL.appId))).toEqual(["settings/x"]);
    });

    it("10 and 11: an account switch never sends the old account's queue, and no account sees another's", async () => {
      const alice = account();
      const bob = account();
      const bobs = await device("bobs", bob).start(MAIL);
      await bobs.put("settings", "owner", { name: "bob" });
      await until(() => bobs.status.pending === 0);
      const shared = device("shared", alice);
      const asAlice = await shared.start(MAIL);
      await asAlice.put("settings", "owner", { name: "alice" });
      await until(() => asAlice.status.pending === 0);
      shared.setOnline(false);
      await asAlice.put("settings", "queued", { name: "alice" });
      await shared.switchAccount(bob);
      shared.setOnline(true);
      const asBob = shared.app(MAIL.appId);
      await until(async () => (await asBob.get("settings", "owner")) !== undefined);
      expect(await asBob.get("settings", "owner")).toEqual({ name: "bob" });
      expect(await asBob.get("settings", "queued")).toBeUndefined();
      await settled([shared]);
      expect(await serverDocs(bob, MAIL.appId)).toEqual({ "settings/owner": { name: "bob" } });
      await shared.switchAccount(alice);
      await until(async () => Object.keys(await serverDocs(alice, MAIL.appId)).length === 2);
      expect(await serverDocs(alice, MAIL.appId)).toEqual({
        "settings/owner": { name: "alice" },
        "settings/queued": { name: "alice" },
      });
    });

    it("12: an oversized document is refused with a clear error and harms nothing else", async () => {
      const a = account();
      const mail = await device("phone", a).start(MAIL);
      await mail.put("settings", "ok", { v: 1 });
      await mail.put("settings", "huge", { blob: "x".repeat(300 * 1024) });
      await until(() => mail.status.rejected === 1 && mail.status.pending === 1);
      expect(mail.status.lastError).toMatchObject({ code: "payload-too-large" });
      expect(await serverDocs(a, MAIL.appId)).toEqual({ "settings/ok": { v: 1 } });
    });

    // Two server processes need a database both reach: PostgreSQL (PGlite lives inside one process).
    const onPostgres = kind === "postgres" ? it : undefined;
    onPostgres?.(
      "13: a change pushed through one server process reaches a live device on another",
      async () => {
        const a = account();
        const other = await cluster.second();
        const reader = await device("reader", a).start(MAIL, other.url);
        await settled(devices);
        const writer = await device("writer", a).start(MAIL);
        await writer.put("settings", "live", { v: 1 });
        await until(async () => (await reader.get("settings", "live")) !== undefined, 15_000);
      },
    );

    it("through a proxy that cuts requests, drops answers after commit and delays: nothing lost, nothing doubled", async () => {
      const a = account();
      const ds = [device("p1", a), device("p2", a), device("p3", a)];
      const ms = await Promise.all(ds.map((d) => d.start(MAIL)));
      await settled(ds);
      cluster.proxy.faults = { cutRequest: 0.15, dropResponse: 0.15, maxDelayMs: 30 };
      const written: Record<string, unknown> = {};
      for (let i = 0; i < 30; i++) {
        const k = i % 3;
        const value = { v: i, by: k };
        await ms[k]?.put("settings", `doc-${i}`, value);
        written[`settings/doc-${i}`] = value;
        if (i % 7 === 0) cluster.proxy.cutAll();
        await new Promise((r) => setTimeout(r, 15));
      }
      await new Promise((r) => setTimeout(r, 500));
      cluster.proxy.faults = CLEAN;
      await until(() => ms.every((m) => m.status.pending === 0), 30_000).catch((error: Error) => {
        // Say where each device is, so a failure here can be understood from the log alone.
        throw new Error(`${error.message}: ${ms.map((m) => JSON.stringify(m.status)).join("; ")}`);
      });
      await until(async () => {
        for (const m of ms) if ((await m.list("settings")).length !== 30) return false;
        return true;
      }, 30_000).catch(async (error: Error) => {
        const held = await Promise.all(ms.map(async (m) => (await m.list("settings")).length));
        throw new Error(
          `${error.message}: documents held ${held.join(", ")} of 30; ${ms.map((m) => JSON.stringify(m.status)).join("; ")}`,
        );
      });
      expect(await serverDocs(a, MAIL.appId)).toEqual(written);
      // Exactly once: every document was written in one accepted change (revision 1), however often it was retried.
      const revs = await cluster.db.query<{ rev: number }>(
        "SELECT rev FROM documents WHERE account_id = $1",
        [a],
      );
      expect(revs.every((r) => Number(r.rev) === 1)).toBe(true);
      expect(cluster.proxy.stats.cutRequests + cluster.proxy.stats.droppedResponses).toBeGreaterThan(0);
    });
  });
}
