import type { Observable } from "rxjs";
import type { ConflictStrategy } from "../conflict/types.js";
import type { JsonObject } from "../json.js";
import type { DeviceSettings, NetworkState, RegistryKnowledge } from "../policy.js";
import type { LocalStore, Transport } from "../ports.js";
import type { AppScope } from "../protocol.js";
import type { Runtime } from "../runtime.js";
import type { WriteReceipt } from "./acknowledgements.js";
import type { BackoffOptions } from "./machine.js";
import type { Migrations } from "./schema.js";
import type { SharedLiveChannel } from "./shared-live.js";
import type { ReplicationStatus, StatusError, StatusReason } from "./status.js";

/** Options of {@link createReplication}. */
export interface ReplicationOptions {
  readonly store: LocalStore;
  /** The server, connected as {@link accountId}. */
  readonly transport: Transport;
  readonly accountId: string;
  readonly app: AppScope;
  /** This device; part of every HLC time it makes. */
  readonly deviceId: string;
  /** The app's backed-up collections and their conflict strategies. */
  readonly collections: Readonly<Record<string, ConflictStrategy>>;
  readonly settings$: Observable<DeviceSettings>;
  readonly network$: Observable<NetworkState>;
  /** Whether the account's contract includes backup (default: always). */
  readonly entitled$?: Observable<boolean>;
  /** What the device already knows of the registry entry; fetched from the server at start either way. */
  readonly registry?: RegistryKnowledge;
  readonly runtime?: Runtime;
  /** Changes per push (default 200). */
  readonly pushBatchSize?: number;
  /**
   * Pushes in flight at once, each of its own documents (default 3): the next batches travel while the server applies
   * one, and a new batch goes out as soon as an answer is committed. 1 sends one at a time. With 50 ms added to each
   * request, 3 pushed 10,000 documents about 1.2× faster than 2 (benchmarks/); on loopback they are alike.
   */
  readonly pushesInFlight?: number;
  /**
   * Documents asked for in a pull's first page (default 500). Each further page of the same pull asks for twice as
   * many, up to {@link pullBatchMax}: a restore of 10,000 documents takes 5 round trips instead of 20, and the first
   * documents still arrive soon. The server may send fewer (it bounds a page by count and by bytes).
   */
  readonly pullBatchSize?: number;
  /** Most documents asked for in one pull page (default 4,000, and never below {@link pullBatchSize}). */
  readonly pullBatchMax?: number;
  /** Push RFC 6902 patches when smaller than the document (default true). */
  readonly deltas?: boolean;
  /**
   * Migrations of the app's data by the schema version they produce (`app.schemaVersion` is the current one):
   * data restored from an older version, and the device's own data after an upgrade, are migrated forward.
   */
  readonly migrations?: Migrations;
  readonly backoff?: BackoffOptions;
  /**
   * The restore-before-write guard: until this device has restored the account's backup of the app once, reads and
   * writes wait for that first restore (or `timeoutMs`, then go ahead), so the app starts from its backup. On for a
   * new device, a newly set account and a reinstall; off once a restore completed. It holds `put` and `delete` only
   * until then: after the timeout they are ordinary edits, which the collection's strategy weighs against the backup
   * when it arrives (`lww`: the later wins). First-launch defaults belong in {@link Replication.putDefault}, which
   * never replaces a backed-up value, however late.
   */
  readonly restoreFirst?: { readonly timeoutMs: number };
  /** Waits this long after a local write before pushing, so a burst of writes goes in one push (default 0). */
  readonly debounceMs?: number;
  /**
   * While waiting out a backoff after a `network` or `timeout` failure, ask the server whether it can be reached this
   * often (ms, default 5 s, with jitter; 0 never), through the transport's `probe()`: once it answers, replication
   * tries again at once instead of sleeping to the end of a delay of up to `backoff.maxMs`.
   */
  readonly probeMs?: number;
  /**
   * Pull when the server told this device nothing (no pull, no live hint) for this long while it rests (ms, default
   * 5 minutes; 0 never): the live channel is best effort, and a hint lost on the way is caught up within this time.
   */
  readonly safetyPullMs?: number;
  /**
   * Keep a live channel open while replicating (default `true`): other devices' changes arrive within a round trip.
   * `false` listens for nothing: the replication pulls when started, on `sync()` and every `safetyPullMs` (a
   * background task, whose few seconds a channel would not outlive; see {@link syncOnce}). A
   * {@link SharedLiveChannel}: the replication's hints come through that one channel, shared with the other apps of
   * the account on this device (the device hub does this for its apps).
   */
  readonly live?: boolean | SharedLiveChannel;
}

/** How long a wait may take: {@link Replication.whenIdle}, {@link Replication.sync}. */
export interface WaitOptions {
  /** Give up after this long (ms, on the replication's runtime clock); the result then says it timed out. */
  readonly timeoutMs?: number;
  /** Give up when this aborts: the promise rejects with the signal's reason (an `AbortError` by default). */
  readonly signal?: AbortSignal;
}

/** What {@link Replication.whenIdle} found. */
export interface IdleResult {
  /** Replication came to rest (idle, held, fatal or stopped); `false` when the wait timed out first. */
  readonly idle: boolean;
  /** Nothing is pending: the server acknowledged every change made on this device (refused ones count as pending). */
  readonly acknowledged: boolean;
  /** The status when the wait ended. */
  readonly status: ReplicationStatus;
}

/** Options of {@link Replication.sync}. */
export interface SyncOptions extends WaitOptions {
  /**
   * A bulk backup (the settings screen's "back up all now"): done only where the registry offers `bulkBackup` for
   * the app on this platform, and the server refuses its pushes otherwise (`capability`).
   */
  readonly bulk?: boolean;
}

/** What {@link Replication.sync} did. */
export interface SyncResult {
  /**
   * - `synced`: the server answered during the call and acknowledged every change made on this device;
   * - `held`: policy does not let backup run now (`reason` says why: offline, roaming, disabled, capability, ...);
   * - `failed`: the server could not be reached or refused (`error`; a change it refused for good counts), or
   *   replication is stopped for a fatal reason; retryable failures are still retried in the background;
   * - `timed-out`: `timeoutMs` passed first.
   */
  readonly outcome: "synced" | "held" | "failed" | "timed-out";
  /** `outcome === "synced"`: every change made here before the result is on the server. */
  readonly acknowledged: boolean;
  /** Changes still waiting on this device. */
  readonly pending: number;
  readonly reason?: StatusReason;
  readonly error?: StatusError;
  /** The status when the call ended. */
  readonly status: ReplicationStatus;
}

/** One document written by {@link Replication.bulkWrite}: its new state, or `null` to delete it. */
export interface WriteChange {
  readonly collection: string;
  readonly id: string;
  readonly data: JsonObject | null;
}

/**
 * Changes that will never reach the server because the app's backup was deleted (from a settings screen's bulk
 * delete, or another device) after they were made and before they were sent: the rule is that a delete wins over
 * changes made before the device heard of it. The documents stay on the device as they are; write one again to back it
 * up under the new epoch.
 */
export interface DroppedChanges {
  readonly reason: "deleted";
  /** The backup's epoch after the delete. */
  readonly epoch: number;
  readonly documents: readonly { readonly collection: string; readonly id: string }[];
}

/** A change of a document as the app sees it. */
export interface DocumentChange {
  readonly collection: string;
  readonly id: string;
  /** The new state; `null` when deleted. */
  readonly data: JsonObject | null;
  /** `local`: written through this engine; `remote`: arrived from the server (restored or merged). */
  readonly origin: "local" | "remote";
}

/**
 * Backs up one app's data of one account on this device: local writes are queued in the outbox and pushed when
 * policy allows; the server's changes are pulled and conflicts resolved per collection.
 *
 * @example
 * ```ts
 * const backup = createReplication({ store, transport, accountId, app, deviceId, collections: { settings: "merge" },
 *   settings$, network$ });
 * await backup.start();
 * await backup.put("settings", "theme", { dark: true });
 * backup.status$.subscribe((s) => render(s.pending, s.reason));
 * ```
 */
export interface Replication {
  readonly status$: Observable<ReplicationStatus>;
  readonly status: ReplicationStatus;
  /** Local and remote changes of documents. */
  readonly changes$: Observable<DocumentChange>;
  /** Queued changes dropped by a delete of the app's backup (counted in `status.dropped`), as they are dropped. */
  readonly dropped$: Observable<DroppedChanges>;
  /**
   * Starts replicating. Resolves once the app's data is ready on this device and replication runs: it never waits for
   * the server (an offline first launch must start), so what the server or the registry says comes later, in
   * `status$` (`reason`, `lastError`) and in the results of {@link whenIdle} and {@link sync} — an app the registry
   * does not know starts and then shows `reason: "unsupported"`; a token the server refuses after a refresh shows
   * `state: "fatal"`, `reason: "unauthorized"`.
   *
   * Rejects with a `HokanError` only when replication cannot run on this device: `upgrade-required` (the device's
   * data is of a newer schema than this app: a downgrade), `storage` or `quota` (the local store failed),
   * `internal` (a migration of the app's data threw). Status then shows the same code until a start succeeds.
   */
  start(): Promise<void>;
  /** Stops replicating (local writes still work and are queued); waits for a request in flight. */
  stop(): Promise<void>;
  get(collection: string, id: string): Promise<JsonObject | undefined>;
  /** All live documents of a collection. */
  list(collection: string): Promise<{ id: string; data: JsonObject }[]>;
  /**
   * Writes a document on this device and queues it for backup; resolves once it is stored here (never waiting for
   * the server), with a receipt to pass to {@link acknowledged} to learn when the server holds it.
   */
  put(collection: string, id: string, data: JsonObject): Promise<WriteReceipt>;
  /**
   * Writes an app's first-launch default where the device holds no document (none, or a deleted one), after the first
   * restore or its timeout (with `restoreFirst`); resolves whether it wrote. A default never replaces a backed-up
   * value: the server stores it only where it holds no live document, and when the backup arrives later (an offline
   * first launch) it takes the default's place, told through `changes$`. Any edit, from any device, wins over it.
   *
   * @example
   * ```ts
   * await mail.putDefault("consent", "tos", { version: 0, accepted: false });
   * ```
   */
  putDefault(collection: string, id: string, data: JsonObject): Promise<boolean>;
  /** Deletes a document on this device and queues the deletion; resolves with a receipt, as {@link put}. */
  delete(collection: string, id: string): Promise<WriteReceipt>;
  /**
   * Writes many documents in one store transaction (an import, a migration of the app's own data, a first sync of an
   * existing database): the same result as a `put` or `delete` for each, far faster on IndexedDB.
   */
  bulkWrite(changes: readonly WriteChange[]): Promise<WriteReceipt>;
  /**
   * Resolves once the server has committed the writes of a receipt (from {@link put}, {@link delete} or
   * {@link bulkWrite}): never before its commit, and only from its answer. A document written again before that is
   * acknowledged with the later write; one whose change lost a conflict is acknowledged once the server holds the
   * resolution.
   *
   * Rejects with a `HokanError` when a write can never be acknowledged: the refusal's code (`payload-too-large`,
   * `forbidden`, ...; it waits for the document's next write), or `deleted` when the app's backup was deleted before
   * the write reached the server (see {@link dropped$}); `details.documents` lists each such document. With
   * `timeoutMs` it rejects with `timeout` once that passes (the writes are still queued and sent); with `signal`, with
   * the signal's reason. Waiting costs nothing while offline: the writes are sent when policy allows.
   *
   * @example
   * ```ts
   * const receipt = await mail.put("consent", "tos", { version: 3, accepted: true });
   * await mail.acknowledged(receipt, { timeoutMs: 30_000 }); // now safe on the server
   * ```
   */
  acknowledged(receipt: WriteReceipt, options?: WaitOptions): Promise<void>;
  /**
   * {@link acknowledged} for every write made on this device so far (every change queued now, refused ones
   * included): resolves when the server holds them all, rejects as `acknowledged` does when one never can be.
   */
  whenAcknowledged(options?: WaitOptions): Promise<void>;
  /**
   * Resolves when nothing can be done now: idle, held, fatal or stopped (not while a request is in flight or while
   * backing off). The result says whether everything was acknowledged; with `timeoutMs` it resolves with
   * `idle: false` once that passes (a change pending while the server is down never comes to rest by itself); with
   * `signal` it rejects when the signal aborts. It resolves on an offline device at once: to wait for the server to
   * hold the writes, use {@link whenAcknowledged} or {@link acknowledged}.
   *
   * @example
   * ```ts
   * const { idle, acknowledged, status } = await mail.whenIdle({ timeoutMs: 5000 });
   * if (!acknowledged) showPending(status.pending, status.reason ?? status.lastError?.code);
   * ```
   */
  whenIdle(options?: WaitOptions): Promise<IdleResult>;
  /**
   * Backs up now and checks with the server: pushes every pending change, pulls what the server has (or, where the
   * registry offers no restore, confirms with an empty push), and resolves with what happened — `synced` only when
   * the server answered and acknowledged everything. It does not wait out a failure: the first one ends the call as
   * `failed` (replication keeps retrying in the background). A replication in backoff tries again at once.
   *
   * @example
   * ```ts
   * const r = await mail.sync({ timeoutMs: 10_000 });
   * if (r.outcome !== "synced") toast(r.reason ?? r.error?.code ?? r.outcome);
   * ```
   */
  sync(options?: SyncOptions): Promise<SyncResult>;
  /** The app was upgraded (or downgraded) on the device: a new version for policy and requests. */
  setAppVersion(appVersion: string): void;
  /**
   * This app's backup was deleted on the server, raising its epoch to `epoch` (a bulk delete from this device's
   * settings screen: the delete's answer names each app's new epoch). Learned at once, without waiting for the live
   * channel: changes queued before it are dropped, and any write after this resolves is backed up under the new epoch.
   * An epoch the replication already knows changes nothing.
   */
  backupDeleted(epoch: number): Promise<void>;
  /**
   * Another engine changed this namespace in the shared store (another tab of the app): recount what is pending and
   * push it when replicating.
   */
  refresh(): Promise<void>;
}
