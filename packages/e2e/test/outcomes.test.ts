import { type DocumentChange, type RegistryEntry, randomId, systemRuntime } from "@hokan/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type Cluster,
  type DatabaseKind,
  Device,
  MAIL,
  NOTES,
  settled,
  startCluster,
  until,
} from "../src/harness.js";

/**
 * The modelled service's failures, tried against the real server over HTTP with IndexedDB: a first-launch default
 * never replaces the backup.
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
    const stored = async (accountId: string, appId: string, collection: string, id: string) => {
      const [row] = await cluster.db.query<{ data: unknown; is_default: boolean }>(
        "SELECT data, is_default FROM documents WHERE account_id = $1 AND app_id = $2 AND collection = $3 AND id = $4",
        [accountId, appId, collection, id],
      );
      return row;
    };

    beforeAll(async () => {
      cluster = await startCluster(kind, REGISTRY);
    });
    afterEach(async () => {
      cluster.proxy.offline = false;
      for (const d of devices.splice(0)) await d.close();
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
  });
}
