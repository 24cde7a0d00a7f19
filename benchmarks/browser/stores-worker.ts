// The browser-stores benchmark's worker: the engine writing N changes offline and restoring N documents from an
// in-memory server (in this worker), on SQLite compiled to WebAssembly over OPFS (opfs-sahpool) and on Dexie over
// IndexedDB, in turn, median of `runs`; each run a fresh database.
import { createReplication, type LocalStore } from "@hokan/core";
import { DexieStore } from "@hokan/storage";
import { SqliteStore } from "@hokan/storage-sqlite";
import { sqliteWasmDriver } from "@hokan/storage-sqlite/sqlite-wasm";
import sqlite3InitModule from "@sqlite.org/sqlite-wasm";
import { benchChanges, benchOptions, seededServer } from "../stores-workload.js";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

self.onmessage = async (event: MessageEvent<{ n: number; runs: number }>) => {
  const { n, runs } = event.data;
  try {
    const sqlite3 = await sqlite3InitModule();
    const pool = await sqlite3.installOpfsSAHPoolVfs({
      name: "hokan-bench",
      clearOnInit: true,
      initialCapacity: 64,
    });
    let files = 0;
    const stores: { name: string; open: () => Promise<{ store: LocalStore; close: () => Promise<void> }> }[] =
      [
        {
          name: "SQLite (sqlite-wasm, OPFS)",
          open: async () => {
            const file = `/bench-${files++}.sqlite3`;
            const store = await SqliteStore.open(sqliteWasmDriver(new pool.OpfsSAHPoolDb(file)));
            return {
              store,
              close: async () => {
                await store.close();
                pool.unlink(file);
              },
            };
          },
        },
        {
          name: "Dexie (IndexedDB)",
          open: async () => {
            const name = `bench-${files++}`;
            const store = new DexieStore({ name });
            return {
              store,
              close: async () => {
                await store.close();
                await new Promise<void>((resolve) => {
                  const r = indexedDB.deleteDatabase(name);
                  r.onsuccess = r.onerror = r.onblocked = () => resolve();
                });
              },
            };
          },
        },
      ];
    const server = await seededServer(n, "web");
    const options = (store: LocalStore, online: boolean, deviceId: string) =>
      benchOptions(store, server, online, deviceId, "web");
    const changes = benchChanges(n);

    const results: { store: string; writeMs: number; restoreMs: number }[] = [];
    for (const kind of stores) {
      const write: number[] = [];
      const restore: number[] = [];
      // One warm-up run, then `runs` measured.
      for (let run = 0; run <= runs; run++) {
        let { store, close } = await kind.open();
        let r = createReplication(options(store, false, "phone"));
        await r.start();
        let start = performance.now();
        await r.bulkWrite(changes);
        const w = performance.now() - start;
        if (r.status.pending !== n) throw new Error(`${kind.name}: ${r.status.pending} pending`);
        await r.stop();
        await close();
        ({ store, close } = await kind.open());
        r = createReplication(options(store, true, "new-phone"));
        start = performance.now();
        await r.start();
        if ((await r.sync({ timeoutMs: 600_000 })).outcome !== "synced")
          throw new Error(`${kind.name}: restore`);
        const rs = performance.now() - start;
        if ((await r.list("settings")).length !== n) throw new Error(`${kind.name}: restored too few`);
        await r.stop();
        await close();
        if (run > 0) {
          write.push(w);
          restore.push(rs);
        }
      }
      results.push({ store: kind.name, writeMs: median(write), restoreMs: median(restore) });
    }
    self.postMessage({ results });
  } catch (error) {
    self.postMessage({ error: String((error as Error)?.stack ?? error) });
  }
};
