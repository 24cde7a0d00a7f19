import type { Observable } from "rxjs";
import { HLC_ZERO } from "./hlc.js";
import type { JsonObject } from "./json.js";
import type { NetworkState } from "./policy.js";
import type {
  AppScope,
  Catalog,
  Checkpoint,
  DeleteResult,
  LiveEvent,
  Platform,
  PullRequest,
  PullResponse,
  PushRequest,
  PushResponse,
  RegistryEntry,
  WriteKind,
} from "./protocol.js";

/** One account's data of one app on a device: everything in a {@link LocalStore} lives under one. */
export interface Namespace {
  readonly account: string;
  readonly app: string;
}

/** The last server state of a document this device saw: the base of its next push. */
export interface ServerBase {
  readonly rev: number;
  /** The server's state, migrated to this app's schema if it was older. */
  readonly data: JsonObject | null;
  readonly hlc: string;
  readonly changeId: string;
  /** {@link data} was migrated from an older schema: it is not byte for byte what the server has, so no patch on it. */
  readonly migrated?: boolean;
}

/** A document on the device, with its sync metadata. */
export interface LocalDocument {
  readonly collection: string;
  readonly id: string;
  /** The current local state; `null` once deleted. */
  readonly data: JsonObject | null;
  /** HLC time of the write that produced {@link data}. */
  readonly hlc: string;
  /** The last server state seen; absent if the server never had it (or after a delete of the backup). */
  readonly base?: ServerBase;
}

/** A change waiting for the server's acknowledgement. At most one queued entry per document (coalesced). */
export interface OutboxEntry {
  /** Local order; also the entry's key. */
  readonly seq: number;
  readonly collection: string;
  readonly id: string;
  /** The state to send; `null` to delete. */
  readonly data: JsonObject | null;
  readonly hlc: string;
  readonly changeId: string;
  /**
   * The epoch the change was made under; 0 if this device had never synced the app. Such a change joins the first
   * epoch the device learns: the store keeps 0, and the engine reads it as {@link SyncState.epoch} until the next
   * epoch change drops it.
   */
  readonly epoch: number;
  /** Send the whole document, not a patch (set after a patch was refused). */
  readonly fullDocument?: boolean;
  /** The server refused this change for good (e.g. too large); it waits for the next write to the document. */
  readonly rejected?: { readonly code: string; readonly message: string };
  /**
   * `"default"`: an app's first-launch default (`putDefault`), which never replaces a backed-up value; absent for an
   * edit. A default written where an edit is queued for the document stays an edit, and an edit written over a queued
   * default makes it one.
   */
  readonly kind?: WriteKind;
}

/** Replication state of one namespace. */
export interface SyncState {
  /** The app's epoch as last learned from the server; 0 before the first contact. */
  readonly epoch: number;
  readonly checkpoint: Checkpoint;
  /** Next outbox sequence number. */
  readonly nextSeq: number;
  /** Latest hybrid logical clock time, so local times keep increasing across restarts. */
  readonly hlc: string;
  readonly lastPullAt?: number;
  readonly lastPushAt?: number;
  /** Server clock minus this device's clock (ms), as last measured: corrects the HLC of a device whose clock is off. */
  readonly clockOffset?: number;
  /** Schema version of the app data on the device (1 when absent); raised by migrating it at start. */
  readonly schemaVersion?: number;
  /**
   * The server holds documents of this newer schema that this app version could not take: once the app reaches it,
   * it pulls from the start of the epoch again to take them.
   */
  readonly awaitingSchema?: number;
}

/** The sync state of a namespace nothing was stored for yet. */
export const INITIAL_SYNC_STATE: SyncState = {
  epoch: 0,
  checkpoint: { epoch: 0, seq: 0 },
  nextSeq: 1,
  hlc: HLC_ZERO,
};

/**
 * Merges a commit's sync fields into the stored state, as every store must: given fields replace stored ones, except
 * `hlc`, which keeps the later time, and `nextSeq`, which only the store advances.
 */
export function mergeSyncState(stored: SyncState | undefined, patch: Partial<SyncState>): SyncState {
  const base = stored ?? INITIAL_SYNC_STATE;
  const { nextSeq: _, ...fields } = patch;
  const hlc = patch.hlc !== undefined && patch.hlc > base.hlc ? patch.hlc : base.hlc;
  return { ...base, ...fields, hlc };
}

/**
 * One atomic change to a namespace: all of it is stored, or none of it.
 *
 * @remarks
 * Several engines may write one namespace at once (tabs of a browser sharing IndexedDB), so a commit never carries
 * values it read earlier where another writer could have changed them: new outbox entries have a negative `seq` and
 * the store numbers them, and `sync` holds only the fields the writer owns, merged by {@link mergeSyncState}.
 */
export interface StoreCommit {
  /** Documents to upsert (whole records). */
  readonly documents?: readonly LocalDocument[];
  /** Remove every outbox entry first (a superseded epoch or a delete of the backup). */
  readonly clearOutbox?: boolean;
  /** Outbox entries to remove, by seq. */
  readonly outboxDelete?: readonly number[];
  /**
   * Outbox entries to upsert, by seq. An entry with a negative seq is new: the store gives it the namespace's next
   * sequence number (in the order given) and advances `nextSeq`, inside the same transaction.
   */
  readonly outboxPut?: readonly OutboxEntry[];
  /** Sync fields to merge into the stored state (see {@link mergeSyncState}). */
  readonly sync?: Partial<SyncState>;
  /**
   * Documents the server acknowledged that still held the acknowledged write when the engine read them: each one's
   * base becomes `{ rev, data: its data, hlc, changeId }`, but only while the stored document's `hlc` is `hlc` (a
   * document written since keeps the base it has). Applied after {@link documents}, which never name the same
   * document. The engine gives these only to a store whose {@link LocalStore.acknowledgements} is `true`; others get
   * the whole documents in {@link documents}.
   */
  readonly acknowledged?: readonly Acknowledgement[];
}

/** The server's acknowledgement of a document's write, for {@link StoreCommit.acknowledged}. */
export interface Acknowledgement {
  readonly collection: string;
  readonly id: string;
  /** The acknowledged write's HLC: the document's, as long as it holds that write. */
  readonly hlc: string;
  /** The server's revision of the write. */
  readonly rev: number;
  readonly changeId: string;
}

/** A document's address in a namespace. */
export interface DocumentKey {
  readonly collection: string;
  readonly id: string;
}

/**
 * Durable local storage for documents and their sync metadata, namespaced by account and app.
 *
 * @remarks
 * {@link commit} is the only write and must be atomic: a local write and its outbox entry, or a pulled batch and
 * its checkpoint, are stored together or not at all. Namespaces never see each other's records. Implementations
 * must pass `runLocalStoreTests` from `@hokan/core/conformance`.
 */
export interface LocalStore {
  /**
   * The store takes {@link StoreCommit.acknowledged}: the answer to a push then rewrites no document, where a store
   * such as IndexedDB pays a request per document written. Optional: without it, the engine commits the acknowledged
   * documents whole.
   */
  readonly acknowledgements?: boolean;
  getDocuments(ns: Namespace, keys: readonly DocumentKey[]): Promise<(LocalDocument | undefined)[]>;
  /** All documents of the namespace, optionally of one collection, deleted ones included. */
  listDocuments(ns: Namespace, collection?: string): Promise<LocalDocument[]>;
  /** Outbox entries in seq order, at most `limit`, only those with a seq above `after` when given. */
  readOutbox(ns: Namespace, limit?: number, after?: number): Promise<OutboxEntry[]>;
  /** Outbox entries of the given documents, in seq order. */
  outboxFor(ns: Namespace, keys: readonly DocumentKey[]): Promise<OutboxEntry[]>;
  countOutbox(ns: Namespace): Promise<number>;
  getSync(ns: Namespace): Promise<SyncState | undefined>;
  /**
   * Applies a commit atomically. Resolves with the seqs given to its new outbox entries (those put with a seq of 0 or
   * below), in the order given; a store that resolves with nothing has them read back by the engine.
   */
  commit(ns: Namespace, change: StoreCommit): Promise<readonly number[] | undefined | undefined>;
  /** Removes everything of a namespace (an account removed from the device). */
  dropNamespace(ns: Namespace): Promise<void>;
  close(): Promise<void>;
}

/**
 * The server as the engine sees it, for one account (the account is in the connection's credentials, never in a
 * request). Errors are thrown as `HokanError`s with their codes. Implementations must pass `runTransportTests`.
 */
export interface Transport {
  pull(request: PullRequest): Promise<PullResponse>;
  push(request: PushRequest): Promise<PushResponse>;
  /**
   * Hints that the given apps changed on the server. Errors (and completes) when the channel drops. A hint carries a
   * small change's documents only while the registry lets the app's scope (its version, platform) restore. A
   * transport passes the channel's own signals on (`open` with the heartbeat interval, then each `beat`): the engine
   * gives up a channel that stays silent for `LIVE_GIVE_UP_BEATS` intervals, which no error would report.
   */
  live(apps: readonly AppScope[], options?: LiveOptions): Observable<LiveEvent>;
  /**
   * A cheap request that only says whether the server can be reached now (no account, no data): while replication
   * waits out a long backoff after a network failure, it probes every few seconds and tries again as soon as this
   * resolves, instead of sleeping to the end of the delay. Optional: without it the backoff runs its course.
   */
  probe?(): Promise<void>;
  catalog(): Promise<Catalog>;
  registry(platform: Platform): Promise<RegistryEntry[]>;
  /**
   * Deletes one app's backup: its epoch rises. `requestId` makes a retried or duplicated request harmless: the server
   * answers it again without deleting twice (a second delete would also take changes made after the first).
   */
  deleteApp(scope: AppScope, requestId: string): Promise<DeleteResult>;
  /**
   * Deletes every app's backup of the account that the registry offers bulk delete for on `platform` (the device's;
   * without it, each app's last platform); the others are listed in the result's `skipped`. `requestId` as for
   * {@link deleteApp}.
   */
  deleteAll(requestId: string, platform?: Platform): Promise<DeleteResult>;
}

/** Options of {@link Transport.live}. */
export interface LiveOptions {
  /**
   * Also hint every other app of the account, without documents: the settings screen's backed-up apps list follows
   * the account's catalog with it (needs the device's token, as the catalog does).
   */
  readonly catalog?: boolean;
}

/** Device-level values shared by every app and account on the device (the device settings live here). */
export interface DeviceValues {
  getDeviceValue<T>(key: string): Promise<T | undefined>;
  setDeviceValue(key: string, value: unknown): Promise<void>;
}

/** Network state as the host knows it (browsers cannot see roaming; the host app tells). */
export interface NetworkInfo {
  readonly state$: Observable<NetworkState>;
}
