import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import {
  createRxDatabase,
  type RxCollection,
  type RxDatabase,
  type RxJsonSchema,
  type RxStorage,
} from "rxdb";
import { getRxStorageDexie } from "rxdb/plugins/storage-dexie";
import { getRxStorageMemory } from "rxdb/plugins/storage-memory";

/** The app's own schema: any fields, keyed by `id` (as many apps' settings collections are). */
const schema: RxJsonSchema<Record<string, unknown>> = {
  version: 0,
  primaryKey: "id",
  type: "object",
  properties: { id: { type: "string", maxLength: 128 } },
  required: ["id"],
  additionalProperties: true,
} as unknown as RxJsonSchema<Record<string, unknown>>;

export const RX_STORAGES: readonly {
  readonly name: string;
  readonly make: () => RxStorage<unknown, unknown>;
}[] = [
  { name: "memory storage", make: () => getRxStorageMemory() as RxStorage<unknown, unknown> },
  {
    name: "Dexie storage (fake-indexeddb)",
    make: () =>
      getRxStorageDexie({ indexedDB: new IDBFactory(), IDBKeyRange }) as RxStorage<unknown, unknown>,
  },
];

let counter = 0;

/** An app database with the two collections the conformance suite and the scenarios use. Close it after use. */
export async function appDatabase(
  storage: RxStorage<unknown, unknown>,
  name = `app${Date.now()}${counter++}`,
): Promise<{ db: RxDatabase; collections: Record<string, RxCollection> }> {
  const db = await createRxDatabase({ name, storage, multiInstance: false });
  await db.addCollections({ settings: { schema }, consent: { schema } });
  return {
    db,
    collections: {
      settings: db.collections.settings as RxCollection,
      consent: db.collections.consent as RxCollection,
    },
  };
}
