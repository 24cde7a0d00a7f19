/**
 * The RxDB collection every RxDB benchmark replicates, and its replication's pull and push against the minimal server,
 * in Node and in the browser page alike. Browser-safe.
 */
import {
  createRxDatabase,
  type RxCollection,
  type RxJsonSchema,
  type RxReplicationWriteToMasterRow,
  type RxStorage,
  type WithDeleted,
} from "rxdb";
import { BATCH, PULL_MAX } from "./documents.js";

export interface Row extends Record<string, unknown> {
  id: string;
  updatedAt: number;
  _deleted?: boolean;
}

/** RxDB's checkpoint in the minimal server's feed: the last `updatedAt` and id. */
export interface Checkpoint {
  id: string;
  updatedAt: number;
}

export const schema = {
  version: 0,
  primaryKey: "id",
  type: "object",
  properties: { id: { type: "string", maxLength: 64 }, updatedAt: { type: "number" } },
  required: ["id", "updatedAt"],
} as unknown as RxJsonSchema<Row>;

/** The pull and push of `replicateRxCollection` for `account` on the minimal server at `base` ("" for the page's own). */
export function rxEndpoints(base: string, account: string) {
  return {
    pull: {
      batchSize: PULL_MAX,
      async handler(checkpoint: Checkpoint | undefined) {
        const q = checkpoint
          ? `id=${encodeURIComponent(checkpoint.id)}&updatedAt=${checkpoint.updatedAt}`
          : "";
        const res = await fetch(`${base}/${account}/pull?${q}&limit=${PULL_MAX}`);
        return (await res.json()) as { documents: WithDeleted<Row>[]; checkpoint: Checkpoint };
      },
    },
    push: {
      batchSize: BATCH,
      async handler(rows: RxReplicationWriteToMasterRow<Row>[]) {
        const res = await fetch(`${base}/${account}/push`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(rows),
        });
        return (await res.json()) as WithDeleted<Row>[];
      },
    },
  };
}

/** A fresh RxDB database named `name` on `storage`, holding the benchmark's collection (one instance: no tabs). */
export async function openRxCollection(name: string, storage: RxStorage<unknown, unknown>) {
  const database = await createRxDatabase({ name, storage, multiInstance: false });
  await database.addCollections({ docs: { schema } });
  return { database, collection: database.collections.docs as RxCollection<Row> };
}
