import { createReplication, type Replication } from "@hokan/core";
import { runLocalStoreTests } from "@hokan/core/conformance";
import { MemoryServer, openRegistry } from "@hokan/core/testing";
import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import { BehaviorSubject } from "rxjs";
import { describe, expect, it } from "vitest";
import { DexieStore } from "../src/index.js";
import { attachRxDB } from "../src/rxdb.js";
import { until } from "./leader-cases.js";
import { appDatabase, RX_STORAGES } from "./rxdb-fixtures.js";

const NS = { account: "acct-a", app: "jp.example.mail" };

for (const storage of RX_STORAGES) {
  runLocalStoreTests(`RxDB attachment on ${storage.name}`, async () => {
    const { db, collections } = await appDatabase(storage.make());
    const meta = new DexieStore({ indexedDB: new IDBFactory(), IDBKeyRange, name: "meta" });
    const store = attachRxDB({ meta, namespace: NS, collections });
    return {
      store,
      teardown: async () => {
        await store.close();
        await meta.close();
        await db.close();
      },
    };
  });
}

const APP = { appId: NS.app, appVersion: "3.0.0", platform: "web" as const };

for (const storage of RX_STORAGES) {
  describe(`backing up an app's RxDB (${storage.name})`, () => {
    async function setup() {
      const server = new MemoryServer({ registry: openRegistry([APP.appId]), now: () => Date.now() });
      const rx = await appDatabase(storage.make());
      const meta = new DexieStore({ indexedDB: new IDBFactory(), IDBKeyRange, name: "meta" });
      const attachment = attachRxDB({ meta, namespace: NS, collections: rx.collections });
      const collectionsBefore = Object.keys(rx.db.collections).sort();
      const settings$ = new BehaviorSubject({ backupEnabled: true, overseasEnabled: false });
      const network$ = new BehaviorSubject({ online: true, roaming: false });
      const open = async (): Promise<Replication> => {
        const r = createReplication({
          store: attachment,
          transport: server.connect({ accountId: NS.account }),
          accountId: NS.account,
          app: APP,
          deviceId: "rx-device",
          collections: { settings: "merge", consent: "lww" },
          settings$,
          network$,
        });
        await r.start();
        await attachment.watch(r);
        return r;
      };
      const stored = () =>
        Object.fromEntries(
          server.documents(NS.account, APP.appId).map((d) => [`${d.collection}/${d.id}`, d.data]),
        );
      const close = async (r: Replication) => {
        await r.stop();
        await attachment.close();
      };
      /** Stops everything the test opened. */
      const dispose = async (r: Replication) => {
        await close(r);
        await meta.close();
        await rx.db.close();
      };
      return { server, rx, attachment, open, stored, close, dispose, collectionsBefore };
    }

    it("backs up what the app writes to RxDB, deletes included, and opens no collection of its own", async () => {
      const t = await setup();
      const r = await t.open();
      await t.rx.collections.consent?.insert({ id: "tos", version: 3, accepted: true });
      await t.rx.collections.settings?.upsert({ id: "theme", mode: "dark" });
      await until(() => Object.keys(t.stored()).length === 2);
      expect(t.stored()).toEqual({
        "consent/tos": { version: 3, accepted: true },
        "settings/theme": { mode: "dark" },
      });
      await (await t.rx.collections.settings?.findOne("theme").exec())?.incrementalPatch({ mode: "light" });
      await until(() => t.stored()["settings/theme"]?.mode === "light");
      await (await t.rx.collections.consent?.findOne("tos").exec())?.remove();
      await until(() => t.stored()["consent/tos"] === null);
      expect(Object.keys(t.rx.db.collections).sort()).toEqual(t.collectionsBefore);
      await t.dispose(r);
    }, 20_000);

    it("finds changes the app made while the engine was not running", async () => {
      const t = await setup();
      const r = await t.open();
      await t.rx.collections.settings?.insert({ id: "a", v: 1 });
      await until(() => t.stored()["settings/a"]?.v === 1);
      await t.close(r);
      // The app keeps writing while Hokan is stopped (killed, or not yet started).
      await t.rx.collections.settings?.upsert({ id: "a", v: 2 });
      await t.rx.collections.settings?.insert({ id: "b", v: 1 });
      await new Promise((done) => setTimeout(done, 100));
      expect(t.stored()["settings/a"]?.v).toBe(1);
      const again = await t.open();
      await until(() => t.stored()["settings/a"]?.v === 2 && t.stored()["settings/b"]?.v === 1);
      await t.dispose(again);
    }, 20_000);

    it("restores the backup into the app's RxDB collections", async () => {
      const t = await setup();
      const other = t.server.connect({ accountId: NS.account });
      const pulled = await other.pull({ scope: APP, checkpoint: { epoch: 0, seq: 0 }, limit: 10 });
      await other.push({
        scope: APP,
        idempotencyKey: "restore-test-1",
        changes: [
          {
            collection: "settings",
            id: "font",
            changeId: "c1",
            epoch: pulled.epoch,
            baseRev: 0,
            hlc: "000000000000001:000000:x",
            data: { size: 16 },
          },
          {
            collection: "consent",
            id: "tos",
            changeId: "c2",
            epoch: pulled.epoch,
            baseRev: 0,
            hlc: "000000000000001:000000:x",
            data: { version: 3, accepted: true },
          },
        ],
      });
      const r = await t.open();
      await until(() => r.status.state === "idle" && r.status.lastPullAt !== undefined);
      await until(async () => (await t.rx.collections.settings?.findOne("font").exec()) != null);
      const font = await t.rx.collections.settings?.findOne("font").exec();
      const tos = await t.rx.collections.consent?.findOne("tos").exec();
      expect(font?.toJSON()).toMatchObject({ id: "font", size: 16 });
      expect(tos?.toJSON()).toMatchObject({ id: "tos", version: 3, accepted: true });
      // Restoring is not a change of the app's: nothing is pushed back.
      await new Promise((done) => setTimeout(done, 100));
      expect(r.status.pending).toBe(0);
      expect(t.server.log).toHaveLength(2);
      await t.dispose(r);
    }, 20_000);
  });
}
