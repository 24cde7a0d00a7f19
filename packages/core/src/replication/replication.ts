import {
  BehaviorSubject,
  distinctUntilChanged,
  type Observable,
  of,
  map as rxMap,
  Subject,
  type Subscription,
} from "rxjs";
import { checkStrategies } from "../conflict/index.js";
import { type ErrorCode, HokanError } from "../errors.js";
import { cloneJson, type JsonObject, jsonEqual } from "../json.js";
import type { RegistryKnowledge } from "../policy.js";
import { policy$ } from "../policy-stream.js";
import type { LocalStore, Namespace } from "../ports.js";
import type { AppScope, LiveHint } from "../protocol.js";
import { type Runtime, systemRuntime } from "../runtime.js";
import { Acknowledgements, type WriteReceipt } from "./acknowledgements.js";
import type {
  DocumentChange,
  DroppedChanges,
  IdleResult,
  Replication,
  ReplicationOptions,
  SyncOptions,
  SyncResult,
  WaitOptions,
  WriteChange,
} from "./api.js";
import { refreshCounts } from "./commits.js";
import { dispatch, fetchRegistry, onPolicy, prepareSchema, reachable, stopProbing } from "./drive.js";
import { guardStore, unexpected } from "./guarded-store.js";
import { LiveChannel } from "./live-channel.js";
import { LiveHints } from "./live-hints.js";
import { restoreGate, write } from "./local-writes.js";
import { DEFAULT_BACKOFF, INITIAL_CONTEXT, type MachineContext, type ReplicationState } from "./machine.js";
import { NamespaceState } from "./namespace-state.js";
import { RestoreGate } from "./restore-gate.js";
import { isIdle, publish } from "./runner-status.js";
import { Schema } from "./schema.js";
import { backupDeleted, onLive, refresh } from "./server-events.js";
import type { LiveLink } from "./shared-live.js";
import { type ReplicationStatus, type StatusError, statusError } from "./status.js";
import { Waiters } from "./waiters.js";
import { acknowledged, sync, whenAcknowledged } from "./waits.js";

/** A sync() in progress. */
export interface Probe {
  /** Its pushes are a bulk backup's. */
  readonly bulk: boolean;
  /** The server answered a request since it began. */
  contacted: boolean;
  /** The first failure since it began. */
  failure: StatusError | undefined;
}

/** Creates the replication of one app for one account. */
export function createReplication(options: ReplicationOptions): Replication {
  return new ReplicationRunner(options);
}

/** @internal The runner: its parts are in the modules beside it, which take it as `r`. */
export class ReplicationRunner implements Replication {
  readonly ns: Namespace;
  /** The app's store behind {@link guardStore}: its failures arrive as `storage` errors. */
  readonly store: LocalStore;
  /** The namespace in the store: sync state, clock, store queue, reads and commits. */
  readonly space: NamespaceState;
  readonly runtime: Runtime;
  readonly app$: BehaviorSubject<AppScope>;
  readonly registry$: BehaviorSubject<RegistryKnowledge>;
  readonly quota$ = new BehaviorSubject(false);
  readonly statusSubject: BehaviorSubject<ReplicationStatus>;
  readonly changesSubject = new Subject<DocumentChange>();
  readonly droppedSubject = new Subject<DroppedChanges>();
  /** The app's waits for its writes' acknowledgements. */
  readonly acks = new Acknowledgements();
  /** Changes dropped by deletes of the backup since this replication was created. */
  droppedCount = 0;
  /** Documents the server's answers changed here since start (status `received`). */
  receivedCount = 0;
  /** The code of the latest failure, while backing off from it. */
  failureCode: ErrorCode | undefined;
  probeTimer: unknown;
  safetyTimer: unknown;
  /** When the server last told this device what changed (a pull, a live hint): runtime clock. */
  lastHeard = 0;
  state: ReplicationState = "stopped";
  context: MachineContext = INITIAL_CONTEXT;
  /** start() and stop() in the order they were called. */
  lifecycle: Promise<void> = Promise.resolve();
  readonly inFlight = new Set<number>();
  readonly rejectedSeqs = new Set<number>();
  /**
   * Changes of batches the server failed on (500), sent alone until each is answered or set aside (see
   * `serverFailed` in push-runner.ts), so one change the server cannot take never stops the rest. By seq: its failures alone.
   */
  readonly suspects = new Map<number, number>();
  /** A push was answered since the suspects were found: the server works, for other changes at least. */
  othersAnswered = false;
  readonly schema: Schema;
  readonly gate: RestoreGate;
  debounceTimer: unknown;
  /** Why the server refused the latest change it refused for good; shown until no refused change is left. */
  rejection: StatusError | undefined;
  /** The idempotency keys of the last push's unanswered batches, by fingerprint. */
  lastAttempts = new Map<string, string>();
  /**
   * What the live channel said that is not acted on yet. A hint held while pushes were in flight is likely this
   * device's own push, known only once its answer is committed: until then no new batch goes out, and a hint no answer
   * explains means a pull. A small change it carried is the next pull's page.
   */
  readonly hints = new LiveHints();
  /** While a push runs: hands its session a live hint to hold (push-session.ts). */
  pushHint: ((seq: number) => void) | undefined;
  retryTimer: unknown;
  readonly live: LiveLink;
  policySub: Subscription | undefined;
  /** Raised by stop(): answers to requests sent before are dropped, as if the process had been killed. */
  generation = 0;
  /** whenIdle() and sync() calls waiting for their condition. */
  readonly waiters: Waiters;
  /** The sync() calls in progress: whether the server answered since, and the first failure since. */
  readonly probes = new Set<Probe>();
  /** Why the last start() failed, until a start succeeds. */
  startFailure: ErrorCode | undefined;

  constructor(readonly options: ReplicationOptions) {
    checkStrategies(options.collections);
    this.ns = { account: options.accountId, app: options.app.appId };
    this.runtime = options.runtime ?? systemRuntime;
    this.store = guardStore(options.store);
    this.space = new NamespaceState(this.store, this.ns, options.deviceId, this.runtime);
    this.app$ = new BehaviorSubject(options.app);
    this.registry$ = new BehaviorSubject<RegistryKnowledge>(options.registry);
    this.schema = new Schema(options.app.schemaVersion ?? 1, options.migrations);
    this.waiters = new Waiters(this.runtime);
    this.gate = new RestoreGate(options.restoreFirst?.timeoutMs, this.runtime, (awaitingRestore) =>
      publish(this, { awaitingRestore }),
    );
    const blocked = { kind: "held", reason: "offline" } as const;
    const handlers = {
      event: (e: LiveHint) => onLive(this, e),
      // Hints sent while it was down are lost: catch up.
      reopened: () => dispatch(this, { type: "remote-change" }),
      // The server answered: a backoff from its being out of reach need not run out.
      answered: () => reachable(this),
    };
    // Told apart by shape, not `instanceof`: an app that shares no channel does not bundle the shared one.
    this.live =
      typeof options.live === "object"
        ? options.live.join(() => this.app$.value, handlers)
        : new LiveChannel(
            () => this.options.transport.live([this.app$.value]),
            this.runtime,
            options.backoff ?? DEFAULT_BACKOFF,
            handlers,
          );
    this.statusSubject = new BehaviorSubject<ReplicationStatus>({
      state: "stopped",
      pending: 0,
      rejected: 0,
      backup: blocked,
      restore: blocked,
      reason: "offline",
      inFlight: false,
      epoch: 0,
    });
  }

  get status$(): Observable<ReplicationStatus> {
    return this.statusSubject.asObservable();
  }

  get status(): ReplicationStatus {
    return this.statusSubject.value;
  }

  get changes$(): Observable<DocumentChange> {
    return this.changesSubject.asObservable();
  }

  get dropped$(): Observable<DroppedChanges> {
    return this.droppedSubject.asObservable();
  }

  start(): Promise<void> {
    // Serialised with stop(): a stop() called while starting waits for the start, then stops.
    this.lifecycle = this.lifecycle.then(() => this.doStart());
    return this.lifecycle;
  }

  async doStart(): Promise<void> {
    if (this.policySub) return;
    try {
      await this.space.serial(() => prepareSchema(this));
      const all = await this.store.readOutbox(this.ns);
      for (const e of all) if (e.rejected) this.rejectedSeqs.add(e.seq);
      await refreshCounts(this);
    } catch (error) {
      // The engine cannot run on this device (its data is newer than the app, the store cannot be read): start()
      // rejects with it, and status says so until a start succeeds.
      const e = unexpected(error);
      this.startFailure = e.code;
      publish(this, { lastError: statusError(e, this.runtime.now()) });
      throw e;
    }
    this.startFailure = undefined;
    this.policySub = policy$(
      {
        settings$: this.options.settings$,
        network$: this.options.network$,
        account$: (this.options.entitled$ ?? of(true)).pipe(
          distinctUntilChanged(),
          rxMap((entitled) => ({ accountId: this.ns.account, entitled })),
        ),
        registry$: this.registry$.pipe(distinctUntilChanged((a, b) => jsonEqual(a as never, b as never))),
        app$: this.app$,
        quotaExceeded$: this.quota$.pipe(distinctUntilChanged()),
      },
      this.runtime,
    ).subscribe((snapshot) => onPolicy(this, snapshot));
    this.lastHeard = this.runtime.now();
    dispatch(this, { type: "start" });
    fetchRegistry(this);
  }

  stop(): Promise<void> {
    this.lifecycle = this.lifecycle.catch(() => undefined).then(() => this.doStop());
    return this.lifecycle;
  }

  async doStop(): Promise<void> {
    if (this.debounceTimer !== undefined) {
      this.runtime.clearTimeout(this.debounceTimer);
      this.debounceTimer = undefined;
      dispatch(this, { type: "local-change" });
    }
    this.policySub?.unsubscribe();
    this.policySub = undefined;
    this.live.close();
    stopProbing(this);
    if (this.safetyTimer !== undefined) this.runtime.clearTimeout(this.safetyTimer);
    this.safetyTimer = undefined;
    this.generation++;
    this.inFlight.clear();
    this.hints.clear();
    dispatch(this, { type: "stop" });
    await this.space.drain();
  }

  async get(collection: string, id: string): Promise<JsonObject | undefined> {
    await restoreGate(this);
    const [doc] = await this.store.getDocuments(this.ns, [{ collection, id }]);
    return doc?.data ? ownCopy(doc.data) : undefined;
  }

  async list(collection: string): Promise<{ id: string; data: JsonObject }[]> {
    await restoreGate(this);
    const docs = await this.store.listDocuments(this.ns, collection);
    return docs.flatMap((d) => (d.data === null ? [] : [{ id: d.id, data: ownCopy(d.data) }]));
  }

  put(collection: string, id: string, data: JsonObject): Promise<WriteReceipt> {
    if (typeof data !== "object" || data === null || Array.isArray(data)) {
      return Promise.reject(
        new HokanError("bad-request", `a document must be a JSON object (${collection}/${id})`),
      );
    }
    return write(this, [{ collection, id, data }]).then((w) => w.receipt);
  }

  delete(collection: string, id: string): Promise<WriteReceipt> {
    return write(this, [{ collection, id, data: null }]).then((w) => w.receipt);
  }

  acknowledged(receipt: WriteReceipt, options: WaitOptions = {}): Promise<void> {
    return acknowledged(this, receipt, options);
  }

  whenAcknowledged(options: WaitOptions = {}): Promise<void> {
    return whenAcknowledged(this, options);
  }

  async whenIdle(options: WaitOptions = {}): Promise<IdleResult> {
    const idle = await this.waiters.wait(() => isIdle(this), options);
    const status = this.status;
    return { idle, acknowledged: status.pending === 0, status };
  }

  sync(options: SyncOptions = {}): Promise<SyncResult> {
    return sync(this, options);
  }

  backupDeleted(epoch: number): Promise<void> {
    return backupDeleted(this, epoch);
  }

  refresh(): Promise<void> {
    return refresh(this);
  }

  setAppVersion(appVersion: string): void {
    this.app$.next({ ...this.app$.value, appVersion });
    this.quota$.next(false);
    // The live channel says which version runs here: the server judges by it whether hints may carry documents.
    this.live.renew();
  }

  // ---- local writes

  async putDefault(collection: string, id: string, data: JsonObject): Promise<boolean> {
    if (typeof data !== "object" || data === null || Array.isArray(data)) {
      throw new HokanError("bad-request", `a default must be a JSON object (${collection}/${id})`);
    }
    // Checked and written in one store step: a restore landing in between is never overwritten locally either.
    return (await write(this, [{ collection, id, data }], "default")).count > 0;
  }

  async bulkWrite(changes: readonly WriteChange[]): Promise<WriteReceipt> {
    for (const c of changes) {
      if (c.data !== null && (typeof c.data !== "object" || Array.isArray(c.data))) {
        throw new HokanError(
          "bad-request",
          `a document must be a JSON object or null (${c.collection}/${c.id})`,
        );
      }
    }
    return (await write(this, changes)).receipt;
  }
}

/** The app's own copy of a document a store handed out frozen (the memory store does); others are the app's already. */
function ownCopy(data: JsonObject): JsonObject {
  return Object.isFrozen(data) ? cloneJson(data) : data;
}
