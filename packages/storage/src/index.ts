export { DexieStore, type DexieStoreOptions } from "./dexie-store.js";
export { isClosed, toStorageError } from "./errors.js";
export { createKeyValue, type KeyValue } from "./key-value.js";
export { electLeader, type LeaderElection, type LeaderElectionOptions } from "./leader.js";
export { type SharedTab, shareAcrossTabs, type TabSharingOptions } from "./tabs.js";
