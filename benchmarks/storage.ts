/**
 * Local storage benchmarks: local write throughput and outbox drain rate per store, against each store's own floor
 * measured in the same run.
 *
 *   pnpm bench            # N = 2,000 documents of ~1 KB, median of 5 runs after a warm-up
 *   pnpm bench -- --quick # N = 200, one run: a smoke test that it executes
 */
import { createReplication, type JsonObject, type LocalStore, type Replication } from "@hokan/core";
import { MemoryServer, MemoryStore, openRegistry } from "@hokan/core/testing";
import { DexieStore } from "@hokan/storage";
import { attachRxDB } from "@hokan/storage/rxdb";
import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import { createRxDatabase, type RxCollection, type RxJsonSchema } from "rxdb";
import { getRxStorageMemory } from "rxdb/plugins/storage-memory";
import { BehaviorSubject } from "rxjs";
import { measure, printTable, type Row, save } from "./harness.js";

const quick = process.argv.includes("--quick");
const N = quick ? 200 : 2000;
const RUNS = quick ? 1 : 5;
const APP = { appId: "jp.example.bench", appVersion: "1.0.0", platform: "web" as const };
const NS = { account: "bench", app: APP.appId };
const doc = (i: number): JsonObject => ({ i, text: "x".repeat(960), at: 1_795_564_800_000 + i });

interface StoreKind {
  readonly name: string;
  readonly open: () => Promise<{ store: LocalStore; close: () => Promise<void> }>;
}

let counter = 0;
const schema = {
  version: 0,
  primaryKey: "id",
  type: "object",
  properties: { id: { type: "string", maxLength: 64 } },
  required: ["id"],
} as unknown as RxJsonSchema<Record<string, unknown>>;

const STORES: readonly StoreKind[] = [
  { name: "memory", open: async () => ({ store: new MemoryStore(), close: async () => undefined }) },
  {
    name: "Dexie (fake-indexeddb)",
    open: async () => {
      const store = new DexieStore({ indexedDB: new IDBFactory(), IDBKeyRange, name: `bench${counter++}` });
      return { store, close: () => store.close() };
    },
  },
  {
    name: "RxDB attachment (RxDB memory)",
    open: async () => {
      const db = await createRxDatabase({
        name: `bench${counter++}`,
        storage: getRxStorageMemory(),
        multiInstance: false,
      });
      await db.addCollections({ settings: { schema } });
      const meta = new DexieStore({ indexedDB: new IDBFactory(), IDBKeyRange, name: `meta${counter++}` });
      const store = attachRxDB({
        meta,
        namespace: NS,
        collections: { settings: db.collections.settings as RxCollection },
      });
      return {
        store,
        close: async () => {
          await store.close();
          await meta.close();
          await db.close();
        },
      };
    },
  },
];

function replication(store: LocalStore, server: MemoryServer, online: boolean) {
  const network$ = new BehaviorSubject({ online, roaming: false });
  const r = createReplication({
    store,
    transport: server.connect({ accountId: NS.account }),
    accountId: NS.account,
    app: APP,
    deviceId: "bench",
    collections: { settings: "lww" },
    settings$: new BehaviorSubject({ backupEnabled: true, overseasEnabled: false }),
    network$,
    registry: openRegistry([APP.appId]).find((e) => e.platform === "web") ?? null,
  });
  return { r, network$ };
}

async function writeAll(r: Replication): Promise<void> {
  for (let i = 0; i < N; i++) await r.put("settings", `d${i}`, doc(i));
}

const rows: Row[] = [];
for (const kind of STORES) {
  const raw = await measure(
    RUNS,
    async () => {
      const { store, close } = await kind.open();
      for (let i = 0; i < N; i++) {
        await store.commit(NS, {
          documents: [{ collection: "settings", id: `d${i}`, data: doc(i), hlc: "h" }],
          outboxPut: [
            {
              seq: -1,
              collection: "settings",
              id: `d${i}`,
              data: doc(i),
              hlc: "h",
              changeId: `c${i}`,
              epoch: 1,
            },
          ],
        });
      }
      await close();
    },
    !quick,
  );
  const rawRow: Row = {
    store: kind.name,
    scenario: "raw commit (floor)",
    n: N,
    runs: RUNS,
    medianSeconds: raw.seconds,
    docsPerSecond: N / raw.seconds,
    peakRssMb: raw.peakRssMb,
  };
  rows.push(rawRow);

  const write = await measure(
    RUNS,
    async () => {
      const { store, close } = await kind.open();
      const server = new MemoryServer({ registry: openRegistry([APP.appId]), now: () => Date.now() });
      const { r } = replication(store, server, false);
      await r.start();
      await writeAll(r);
      await r.stop();
      await close();
    },
    !quick,
  );
  rows.push({
    store: kind.name,
    scenario: "local write (engine, offline)",
    n: N,
    runs: RUNS,
    medianSeconds: write.seconds,
    docsPerSecond: N / write.seconds,
    peakRssMb: write.peakRssMb,
    ratio: raw.seconds / write.seconds,
    baseline: "of raw commit",
  });

  // Drain: N changes queued offline, then online; timed from going online to the last acknowledgement.
  const drainTimes: number[] = [];
  let peak = 0;
  for (let run = 0; run < RUNS + (quick ? 0 : 1); run++) {
    const { store, close } = await kind.open();
    const server = new MemoryServer({ registry: openRegistry([APP.appId]), now: () => Date.now() });
    const { r, network$ } = replication(store, server, false);
    await r.start();
    await writeAll(r);
    const start = performance.now();
    network$.next({ online: true, roaming: false });
    await r.whenIdle();
    const seconds = (performance.now() - start) / 1000;
    if (r.status.pending !== 0 || server.documents(NS.account, APP.appId).length !== N) {
      throw new Error(`${kind.name}: the outbox did not drain (${r.status.pending} pending)`);
    }
    if (run > 0 || quick) drainTimes.push(seconds);
    peak = Math.max(peak, process.memoryUsage().rss);
    await r.stop();
    await close();
  }
  const drain = drainTimes.sort((a, b) => a - b)[Math.floor(drainTimes.length / 2)] as number;
  rows.push({
    store: kind.name,
    scenario: "outbox drain (to in-memory server)",
    n: N,
    runs: drainTimes.length,
    medianSeconds: drain,
    docsPerSecond: N / drain,
    peakRssMb: Math.round(peak / 2 ** 20),
  });
}

printTable(rows);
console.log(
  `\nsaved ${save(quick ? "storage-quick" : "storage", rows, { N, runs: RUNS, quick, documentBytes: JSON.stringify(doc(0)).length })}`,
);
