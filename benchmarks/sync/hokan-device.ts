/**
 * Hokan as every benchmark configures it, in Node and in the browser page alike: the app, the engine's options and
 * the offline writes. Browser-safe (no Node imports).
 */
import {
  createReplication,
  type DeviceSettings,
  type JsonObject,
  type LocalStore,
  type NetworkState,
  type Replication,
  type Transport,
} from "@hokan/core";
import type { Observable } from "rxjs";
import { BATCH, doc, docId, SHAPE, WRITE_CHUNK } from "./documents.js";

/** The development secret the benchmark servers sign tokens with. */
export const SECRET = "benchmark-secret-0123456789abcdef0123456789";
export const APP = { appId: "jp.example.bench", appVersion: "1.0.0", platform: "web" as const };
export const COLLECTION = "settings";

/** The engine of one benchmark device: one last-writer-wins collection, pushes of {@link BATCH}. */
export function benchReplication(options: {
  readonly store: LocalStore;
  readonly transport: Transport;
  readonly account: string;
  readonly deviceId: string;
  readonly network$: Observable<NetworkState>;
  readonly settings$: Observable<DeviceSettings>;
}): Replication {
  return createReplication({
    store: options.store,
    transport: options.transport,
    accountId: options.account,
    app: APP,
    deviceId: options.deviceId,
    collections: { [COLLECTION]: "lww" },
    settings$: options.settings$,
    network$: options.network$,
    pushBatchSize: BATCH,
    pullBatchSize: BATCH,
  });
}

/** Writes documents 0…n-1 (version `version`, of `shape`) through the engine's bulk write, {@link WRITE_CHUNK} at a time. */
export async function writeAll(r: Replication, n: number, version = 0, shape = SHAPE): Promise<void> {
  for (let b = 0; b < n; b += WRITE_CHUNK) {
    const changes = [];
    for (let i = b; i < Math.min(n, b + WRITE_CHUNK); i++) {
      changes.push({ collection: COLLECTION, id: docId(i), data: doc(i, version, shape) as JsonObject });
    }
    await r.bulkWrite(changes);
  }
}
