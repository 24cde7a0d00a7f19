import { DexieStore } from "@hokan/storage";
import { createHttpTransport } from "@hokan/transport";
import type { RxStorage } from "rxdb";
import { replicateRxCollection } from "rxdb/plugins/replication";
import { getRxStorageDexie } from "rxdb/plugins/storage-dexie";
import { BehaviorSubject, filter, firstValueFrom } from "rxjs";
import { doc, docId, WRITE_CHUNK } from "../sync/documents.js";
import { APP, benchReplication, writeAll } from "../sync/hokan-device.js";
import { type Checkpoint, openRxCollection, type Row, rxEndpoints } from "../sync/rxdb-schema.js";

let databases = 0;

/**
 * Calls and time of each store and transport method started in the timed part, when the driver asks (`BENCH_TRACE`):
 * where a Hokan case waits. Calls overlap (batches in flight), so the times add up to more than the wall time.
 */
const trace: Record<string, { calls: number; ms: number }> = {};
let tracing = false;
(globalThis as { hokanTrace?: typeof trace }).hokanTrace = trace;

/** `target` with its methods timed into {@link trace} under `tag`, when the driver asked for a trace. */
function traced<T extends object>(target: T, tag: string): T {
  if (!(globalThis as { BENCH_TRACE?: boolean }).BENCH_TRACE) return target;
  return new Proxy(target, {
    get(t, key, receiver) {
      const value: unknown = Reflect.get(t, key, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const start = performance.now();
        const result: unknown = value.apply(t, args);
        if (tracing && result instanceof Promise) {
          const done = () => {
            const name = `${tag}.${String(key)}`;
            const entry = trace[name] ?? { calls: 0, ms: 0 };
            trace[name] = { calls: entry.calls + 1, ms: entry.ms + performance.now() - start };
          };
          result.then(done, done);
        }
        return result;
      };
    },
  });
}

/** Starts the timed part; `console.profile` records it when the driver profiles the page (`BENCH_PROFILE`). */
function startTiming(): number {
  console.profile("timed");
  for (const key of Object.keys(trace)) delete trace[key];
  tracing = true;
  return performance.now();
}

const seconds = (start: number) => {
  const took = (performance.now() - start) / 1000;
  tracing = false;
  console.profileEnd("timed");
  return took;
};

async function dropDatabase(name: string): Promise<void> {
  await new Promise<void>((resolve) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = request.onerror = request.onblocked = () => resolve();
  });
}

/** A Hokan device in this page: a fresh IndexedDB database and the engine, offline or online. */
function hokanDevice(account: string, token: string, online: boolean) {
  const name = `hokan-bench-${databases++}`;
  const store = traced(new DexieStore({ name }), "store");
  const network$ = new BehaviorSubject({ online, roaming: false });
  const r = benchReplication({
    store,
    transport: traced(
      createHttpTransport({ baseUrl: location.origin, token: () => token, compression: false }),
      "transport",
    ),
    account,
    deviceId: name,
    settings$: new BehaviorSubject({ backupEnabled: true, overseasEnabled: false }),
    network$,
  });
  return {
    r,
    store,
    network$,
    async close() {
      await r.stop();
      await store.close();
      await dropDatabase(name);
    },
  };
}

/** An RxDB device in this page: its own database on Dexie storage, replicated once (not live) when asked. */
async function rxDevice(account: string) {
  const { database, collection } = await openRxCollection(
    `rxbench${databases++}`,
    getRxStorageDexie() as RxStorage<unknown, unknown>,
  );
  return {
    collection,
    async sync() {
      const replication = replicateRxCollection<Row, Checkpoint>({
        collection,
        replicationIdentifier: `bench-${account}`,
        live: false,
        ...rxEndpoints("", account),
      });
      let failure: unknown;
      replication.error$.subscribe((e) => {
        failure ??= e;
      });
      await replication.awaitInitialReplication();
      await replication.cancel();
      if (failure) throw failure;
    },
    async writeAll(n: number) {
      const now = Date.now();
      for (let b = 0; b < n; b += WRITE_CHUNK) {
        const rows: Row[] = [];
        for (let i = b; i < Math.min(n, b + WRITE_CHUNK); i++)
          rows.push({ id: docId(i), updatedAt: now + i, ...doc(i) });
        await collection.bulkUpsert(rows);
      }
    },
    close: () => database.remove(),
  };
}

const bench = {
  /** N changes made offline, then online: until the server acknowledged all. */
  async hokanPush(account: string, token: string, n: number): Promise<number> {
    const d = hokanDevice(account, token, false);
    await d.r.start();
    await writeAll(d.r, n);
    const start = startTiming();
    d.network$.next({ online: true, roaming: false });
    const status = await firstValueFrom(
      d.r.status$.pipe(filter((s) => s.pending === 0 && !s.inFlight && s.state === "idle")),
    );
    const took = seconds(start);
    await d.close();
    if (status.lastError)
      throw new Error(`Hokan stopped: ${status.lastError.code} ${status.lastError.message}`);
    return took;
  },
  /** A fresh device restores the N documents the driver put on the server: until all are in IndexedDB. */
  async hokanRestore(account: string, token: string, n: number): Promise<number> {
    const d = hokanDevice(account, token, true);
    const start = startTiming();
    await d.r.start();
    await d.r.whenIdle();
    const took = seconds(start);
    const got = (await d.store.listDocuments({ account, app: APP.appId })).length;
    await d.close();
    if (got !== n) throw new Error(`Hokan restored ${got} of ${n}`);
    return took;
  },
  async rxdbPush(account: string, n: number): Promise<number> {
    const d = await rxDevice(account);
    await d.writeAll(n);
    const start = startTiming();
    await d.sync();
    const took = seconds(start);
    await d.close();
    return took;
  },
  async rxdbRestore(account: string, n: number): Promise<number> {
    const d = await rxDevice(account);
    const start = startTiming();
    await d.sync();
    const took = seconds(start);
    const got = await d.collection.count().exec();
    await d.close();
    if (got !== n) throw new Error(`RxDB restored ${got} of ${n}`);
    return took;
  },
};

(globalThis as { hokanBench?: typeof bench }).hokanBench = bench;
