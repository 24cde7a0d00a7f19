export { DexieStore, type DexieStoreOptions } from "./dexie-store.js";
export { isClosed, toStorageError } from "./errors.js";
export { createKeyValue, type KeyValue } from "./key-value.js";
