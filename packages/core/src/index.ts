export {
  applyYjsDocument,
  type ConflictHandler,
  type ConflictInput,
  type ConflictStrategy,
  conflictHandler,
  diff,
  encodeYDoc,
  lww,
  merge,
  sameState,
  threeWayMerge,
  type WithDeleted,
  type YjsDocument,
  yjs,
} from "./conflict/index.js";
export {
  ERROR_CODES,
  ERROR_TABLE,
  type ErrorCode,
  HokanError,
  type HokanErrorOptions,
  isErrorCode,
  isFatal,
} from "./errors.js";
export { compareHlc, decodeHlc, encodeHlc, HLC_ZERO, type HlcTime, HybridLogicalClock } from "./hlc.js";
export {
  type BackedUpApp,
  type BulkBackupResult,
  createDeviceHub,
  DeviceHub,
  type DeviceHubOptions,
  type HubApp,
} from "./hub/device-hub.js";
export { cloneJson, type Json, type JsonObject, jsonDepth, jsonEqual, jsonSize } from "./json.js";
export {
  type AccountState,
  type Decision,
  type DeniedReason,
  type DeviceSettings,
  decide,
  decidePolicy,
  type HeldReason,
  type NetworkState,
  type Operation,
  type PolicyDecision,
  type PolicyInput,
  type PolicyReason,
  type PolicyWarning,
  type RegistryKnowledge,
  registryRefusal,
  sameDecision,
} from "./policy.js";
export { type PolicySnapshot, type PolicySources, policy$ } from "./policy-stream.js";
export {
  type DeviceValues,
  type DocumentKey,
  INITIAL_SYNC_STATE,
  type LocalDocument,
  type LocalStore,
  mergeSyncState,
  type Namespace,
  type NetworkInfo,
  type OutboxEntry,
  type ServerBase,
  type StoreCommit,
  type SyncState,
  type Transport,
} from "./ports.js";
export {
  type AppScope,
  type Capability,
  type Catalog,
  type CatalogEntry,
  type Checkpoint,
  type DeleteResult,
  type LiveEvent,
  type PatchOperation,
  PLATFORMS,
  type Platform,
  PROTOCOL_VERSION,
  type PullRequest,
  type PullResponse,
  type PushChange,
  type PushRequest,
  type PushResponse,
  type PushResult,
  type RegistryEntry,
  type ServerDocument,
} from "./protocol.js";
export type { DocumentChange, Replication, ReplicationOptions, WriteChange } from "./replication/api.js";
export {
  type BackoffOptions,
  backoffDelay,
  DEFAULT_BACKOFF,
  INITIAL_CONTEXT,
  type MachineContext,
  type MachineEffect,
  type MachineEvent,
  type ReplicationState,
  type Step,
  TRANSITIONS,
  transition,
} from "./replication/machine.js";
export { createReplication } from "./replication/replication.js";
export { type AdaptedDocument, type Migration, type Migrations, Schema } from "./replication/schema.js";
export type { ReplicationStatus, StatusError } from "./replication/status.js";
export { type Runtime, randomId, systemRuntime, type TimerHandle } from "./runtime.js";
export {
  applyPatch,
  type ChangeDecision,
  canonicalJson,
  checkDocument,
  checkPush,
  checkQuota,
  checkScope,
  DEFAULT_LIMITS,
  decideChange,
  decidePush,
  measureDocument,
  type PullPlan,
  type PushOutcome,
  planPull,
  pushFingerprint,
  type ServerLimits,
  type StoredDocument,
} from "./server-rules.js";
export { compareVersions, isVersion } from "./version.js";
