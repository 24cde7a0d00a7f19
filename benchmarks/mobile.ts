/**
 * A phone's costs: the SQLite store (better-sqlite3, a file in WAL mode) next to the Dexie store on fake-indexeddb and
 * the in-memory store (the floor), writing 10,000 changes and restoring 10,000 documents through the engine; and one
 * `syncOnce` with nothing to do against the real server on loopback, next to a bare request to the same server.
 * Chromium's IndexedDB figures for the same restore come from browser.ts in the same `pnpm bench`.
 *
 *   pnpm bench                                              # N = 10,000, median of 5 runs after a warm-up
 *   node --import tsx --conditions=hokan-source mobile.ts --quick   # N = 500, one run
 */

import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createReplication, type LocalStore, syncOnce } from "@hokan/core";
import { MemoryServer, MemoryStore, openRegistry } from "@hokan/core/testing";
import {
  buildServer,
  createVerifier,
  migrate,
  openPGlite,
  parseRegistry,
  signDevelopmentToken,
} from "@hokan/server";
import { DexieStore } from "@hokan/storage";
import { SqliteStore } from "@hokan/storage-sqlite";
import { betterSqlite3Driver } from "@hokan/storage-sqlite/better-sqlite3";
import { createHttpTransport } from "@hokan/transport";
import Database from "better-sqlite3";
import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import { measure, median, printTable, type Row, save } from "./harness.js";
import { BENCH_APP_ID, benchChanges, benchDoc, benchOptions, seededServer } from "./stores-workload.js";

const quick = process.argv.includes("--quick");
const N = quick ? 500 : 10_000;
const RUNS = quick ? 1 : 5;
const SYNC_RUNS = quick ? 5 : 50;
const dir = mkdtempSync(join(tmpdir(), "hokan-bench-mobile-"));
let files = 0;

interface StoreKind {
  readonly name: string;
  readonly open: () => Promise<{ store: LocalStore; close: () => Promise<void> }>;
}
const STORES: readonly StoreKind[] = [
  { name: "memory (floor)", open: async () => ({ store: new MemoryStore(), close: async () => undefined }) },
  {
    name: "SQLite (better-sqlite3, WAL file)",
    open: async () => {
      const store = await SqliteStore.open(betterSqlite3Driver(new Database(join(dir, `b${files++}.db`))));
      return { store, close: () => store.close() };
    },
  },
  {
    name: "Dexie (fake-indexeddb)",
    open: async () => {
      const store = new DexieStore({ indexedDB: new IDBFactory(), IDBKeyRange, name: `b${files++}` });
      return { store, close: () => store.close() };
    },
  },
];

const options = (store: LocalStore, server: MemoryServer, online: boolean, deviceId: string) =>
  benchOptions(store, server, online, deviceId, "android");
const changes = benchChanges(N);
// The restore's source: N documents on an in-memory server, backed up once.
const source = await seededServer(N, "android");

const rows: Row[] = [];
const floors = new Map<string, number>();
for (const kind of STORES) {
  // N changes written offline in one bulkWrite: one commit of the documents and their outbox entries.
  const write = await measure(
    RUNS,
    async () => {
      const { store, close } = await kind.open();
      const server = new MemoryServer({ registry: openRegistry([BENCH_APP_ID]), now: () => Date.now() });
      const r = createReplication(options(store, server, false, "phone"));
      await r.start();
      await r.bulkWrite(changes);
      if (r.status.pending !== N) throw new Error(`${kind.name}: ${r.status.pending} pending, not ${N}`);
      await r.stop();
      await close();
    },
    !quick,
  );
  // A new phone: N documents restored from the server, in pages of 500 each committed with its checkpoint.
  const restore = await measure(
    RUNS,
    async () => {
      const { store, close } = await kind.open();
      const r = createReplication(options(store, source, true, "new-phone"));
      await r.start();
      const result = await r.sync({ timeoutMs: 600_000 });
      if (result.outcome !== "synced") throw new Error(`${kind.name}: restore ${result.outcome}`);
      const count = (await r.list("settings")).length;
      if (count !== N) throw new Error(`${kind.name}: restored ${count} of ${N}`);
      await r.stop();
      await close();
    },
    !quick,
  );
  for (const [scenario, m] of [
    ["write N changes (one bulkWrite, offline)", write],
    ["restore N documents (pages of 500)", restore],
  ] as const) {
    const floor = floors.get(scenario);
    if (floor === undefined) floors.set(scenario, m.seconds);
    rows.push({
      store: kind.name,
      scenario,
      n: N,
      runs: RUNS,
      medianSeconds: m.seconds,
      docsPerSecond: N / m.seconds,
      peakRssMb: m.peakRssMb,
      ...(floor === undefined ? {} : { ratio: m.seconds / floor, baseline: "of memory's time" }),
    });
  }
}

// One syncOnce with nothing to do, on loopback against the real server (PGlite), a SQLite store that is up to date.
const db = await openPGlite();
await migrate(db);
const SECRET = "bench-secret-bench-secret-bench-secret";
const server = await buildServer({
  db,
  registry: parseRegistry({ apps: openRegistry([BENCH_APP_ID]) }),
  verify: await createVerifier({ secret: SECRET }),
  rateLimit: { perSecond: 100_000, burst: 100_000 },
});
await server.app.listen({ host: "127.0.0.1", port: 0 });
const baseUrl = `http://127.0.0.1:${(server.app.server.address() as AddressInfo).port}`;
const token = await signDevelopmentToken(SECRET, { account: "bench-sync" });
const store = await SqliteStore.open(betterSqlite3Driver(new Database(join(dir, "sync-once.db"))));
const syncOptions = {
  ...options(store, source, true, "phone"),
  transport: createHttpTransport({ baseUrl, token: () => token }),
  accountId: "bench-sync",
  deadlineMs: 10_000,
};
{
  // Something to be up to date with: 20 settings backed up, then restored here.
  const writer = createReplication({ ...syncOptions, store: new MemoryStore(), deviceId: "writer" });
  await writer.start();
  await writer.bulkWrite(changes.slice(0, 20));
  await writer.sync({ timeoutMs: 10_000 });
  await writer.stop();
  const first = await syncOnce(syncOptions);
  if (first.outcome !== "synced" || first.pulled !== 20)
    throw new Error(`syncOnce: ${JSON.stringify(first)}`);
}
const once: number[] = [];
const bare: number[] = [];
for (let i = 0; i < SYNC_RUNS + 3; i++) {
  let start = performance.now();
  const result = await syncOnce(syncOptions);
  const took = performance.now() - start;
  if (result.outcome !== "synced" || result.pulled !== 0 || result.pushed !== 0) {
    throw new Error(`syncOnce with nothing to do: ${JSON.stringify(result)}`);
  }
  start = performance.now();
  const res = await fetch(`${baseUrl}/v1/registry?platform=android`, {
    headers: { authorization: `Bearer ${token}` },
  });
  await res.arrayBuffer();
  const floor = performance.now() - start;
  // The first runs warm the server's and the engine's code up.
  if (i >= 3) {
    once.push(took);
    bare.push(floor);
  }
}
const onceMs = median(once);
const bareMs = median(bare);
rows.push({
  store: "SQLite (better-sqlite3, WAL file)",
  scenario: "syncOnce, nothing to do (real server, loopback)",
  n: 1,
  runs: once.length,
  medianSeconds: onceMs / 1000,
  docsPerSecond: 0,
  peakRssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
  ratio: onceMs / bareMs,
  baseline: `of one bare authenticated request (${bareMs.toFixed(1)} ms)`,
});
await store.close();
await server.app.close();
await db.close();
rmSync(dir, { recursive: true, force: true });

printTable(rows);
console.log(`\nsyncOnce with nothing to do: median ${onceMs.toFixed(1)} ms (target under 50 ms)`);
console.log(
  `saved ${save(quick ? "mobile-quick" : "mobile", rows, { N, runs: RUNS, syncRuns: once.length, quick, documentBytes: JSON.stringify(benchDoc(0)).length })}`,
);
