// The workload the store benchmarks share, in Node (mobile.ts) and in a browser worker (browser/stores-worker.ts):
// settings records of about 1 KB, a replication of one app without a live channel, and a server holding N of them.
import {
  createReplication,
  type JsonObject,
  type LocalStore,
  type Platform,
  type ReplicationOptions,
} from "@hokan/core";
import { MemoryServer, MemoryStore, openRegistry } from "@hokan/core/testing";
import { BehaviorSubject } from "rxjs";

export const BENCH_APP_ID = "jp.example.bench";

/** A settings record of about 1 KB. */
export const benchDoc = (i: number): JsonObject => ({ i, text: "x".repeat(960), at: 1_795_564_800_000 + i });

/** N changes of the settings collection, as one bulkWrite takes them. */
export const benchChanges = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ collection: "settings", id: `d${i}`, data: benchDoc(i) }));

/** A replication of the bench app on `store`, talking to `server`, pulling in pages of 500, without a live channel. */
export function benchOptions(
  store: LocalStore,
  server: MemoryServer,
  online: boolean,
  deviceId: string,
  platform: Platform,
): ReplicationOptions {
  return {
    store,
    transport: server.connect({ accountId: "bench" }),
    accountId: "bench",
    app: { appId: BENCH_APP_ID, appVersion: "1.0.0", platform },
    deviceId,
    collections: { settings: "lww" },
    settings$: new BehaviorSubject({ backupEnabled: true, overseasEnabled: false }),
    network$: new BehaviorSubject({ online, roaming: false }),
    live: false,
    pullBatchSize: 500,
  };
}

/** An in-memory server holding N documents of the bench app, backed up once from another device. */
export async function seededServer(n: number, platform: Platform): Promise<MemoryServer> {
  const server = new MemoryServer({ registry: openRegistry([BENCH_APP_ID]), now: () => Date.now() });
  const seed = createReplication(benchOptions(new MemoryStore(), server, true, "seed", platform));
  await seed.start();
  await seed.bulkWrite(benchChanges(n));
  const r = await seed.sync({ timeoutMs: 600_000 });
  if (r.outcome !== "synced") throw new Error(`seeding: ${r.outcome}`);
  await seed.stop();
  return server;
}
