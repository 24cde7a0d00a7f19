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
import { type ErrorCode, HokanError, isErrorCode } from "../errors.js";
import { cloneJson, type JsonObject, jsonEqual } from "../json.js";
import type { RegistryKnowledge } from "../policy.js";
import { type PolicySnapshot, policy$ } from "../policy-stream.js";
import {
  type DocumentKey,
  INITIAL_SYNC_STATE,
  type LocalDocument,
  type LocalStore,
  type Namespace,
  type OutboxEntry,
} from "../ports.js";
import type { AppScope, LiveHint, PullResponse, PushResponse, PushResult, WriteKind } from "../protocol.js";
import { type Runtime, randomId, systemRuntime } from "../runtime.js";
import { pushFingerprint } from "../server-rules.js";
import {
  Acknowledgements,
  NOTHING_QUEUED,
  type WriteReceipt,
  type WrittenDocument,
} from "./acknowledgements.js";
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
import { guardStore, unexpected } from "./guarded-store.js";
import {
  type InFlightBatch,
  type Outcome,
  type PageRequest,
  type PreparedBatch,
  trackBatch,
  trackPage,
} from "./in-flight.js";
import { LiveChannel } from "./live-channel.js";
import { LiveHints } from "./live-hints.js";
import {
  backoffDelay,
  DEFAULT_BACKOFF,
  INITIAL_CONTEXT,
  type MachineContext,
  type MachineEffect,
  type MachineEvent,
  type ReplicationState,
  transition,
} from "./machine.js";
import { NamespaceState } from "./namespace-state.js";
import {
  atEpoch,
  docKey,
  documentsNeedingEntries,
  epochMoved,
  groupByDoc,
  type PlannedCommit,
  pickBatch,
  planLocalWrite,
  planPull,
  planPushResults,
  staleEpoch,
  toPushChange,
} from "./plans.js";
import { type PullEffect, type PullEvent, startPull, stepPull } from "./pull-session.js";
import {
  batchAnswer,
  type PushEffect,
  type PushEnvironment,
  type PushEvent,
  startPush,
  stepPush,
} from "./push-session.js";
import { type PlanContext, planReset } from "./reconcile.js";
import { RestoreGate } from "./restore-gate.js";
import { Schema } from "./schema.js";
import { type ReplicationStatus, type StatusError, type StatusReason, statusReason } from "./status.js";
import { Waiters } from "./waiters.js";

/** A sync() in progress. */
interface Probe {
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

const REGISTRY_CODES = new Set(["retired", "upgrade-required", "capability", "unsupported"]);
/** A change the server fails on (500) this many times, sent alone, is set aside as refused. */
const SERVER_FAILURES_PER_CHANGE = 3;
/** Failures after which the server may simply be out of reach: worth probing for while backing off. */
const UNREACHABLE_CODES = new Set(["network", "timeout"]);
/** Default {@link ReplicationOptions.probeMs}. */
const PROBE_MS = 5_000;
/** Default {@link ReplicationOptions.safetyPullMs}. */
const SAFETY_PULL_MS = 5 * 60_000;

class ReplicationRunner implements Replication {
  private readonly ns: Namespace;
  /** The app's store behind {@link guardStore}: its failures arrive as `storage` errors. */
  private readonly store: LocalStore;
  /** The namespace in the store: sync state, clock, store queue, reads and commits. */
  private readonly space: NamespaceState;
  private readonly runtime: Runtime;
  private readonly app$: BehaviorSubject<AppScope>;
  private readonly registry$: BehaviorSubject<RegistryKnowledge>;
  private readonly quota$ = new BehaviorSubject(false);
  private readonly statusSubject: BehaviorSubject<ReplicationStatus>;
  private readonly changesSubject = new Subject<DocumentChange>();
  private readonly droppedSubject = new Subject<DroppedChanges>();
  /** The app's waits for its writes' acknowledgements. */
  private readonly acks = new Acknowledgements();
  /** Changes dropped by deletes of the backup since this replication was created. */
  private droppedCount = 0;
  /** The code of the latest failure, while backing off from it. */
  private failureCode: ErrorCode | undefined;
  private probeTimer: unknown;
  private safetyTimer: unknown;
  /** When the server last told this device what changed (a pull, a live hint): runtime clock. */
  private lastHeard = 0;
  private state: ReplicationState = "stopped";
  private context: MachineContext = INITIAL_CONTEXT;
  /** start() and stop() in the order they were called. */
  private lifecycle: Promise<void> = Promise.resolve();
  private readonly inFlight = new Set<number>();
  private readonly rejectedSeqs = new Set<number>();
  /**
   * Changes of batches the server failed on (500), sent alone until each is answered or set aside (see
   * {@link serverFailed}), so one change the server cannot take never stops the rest. By seq: its failures alone.
   */
  private readonly suspects = new Map<number, number>();
  /** A push was answered since the suspects were found: the server works, for other changes at least. */
  private othersAnswered = false;
  private readonly schema: Schema;
  private readonly gate: RestoreGate;
  private debounceTimer: unknown;
  /** Why the server refused the latest change it refused for good; shown until no refused change is left. */
  private rejection: StatusError | undefined;
  /** The idempotency keys of the last push's unanswered batches, by fingerprint. */
  private lastAttempts = new Map<string, string>();
  /**
   * What the live channel said that is not acted on yet. A hint held while pushes were in flight is likely this
   * device's own push, known only once its answer is committed: until then no new batch goes out, and a hint no answer
   * explains means a pull. A small change it carried is the next pull's page.
   */
  private readonly hints = new LiveHints();
  private retryTimer: unknown;
  private readonly live: LiveChannel;
  private policySub: Subscription | undefined;
  /** Raised by stop(): answers to requests sent before are dropped, as if the process had been killed. */
  private generation = 0;
  /** whenIdle() and sync() calls waiting for their condition. */
  private readonly waiters: Waiters;
  /** The sync() calls in progress: whether the server answered since, and the first failure since. */
  private readonly probes = new Set<Probe>();
  /** Why the last start() failed, until a start succeeds. */
  private startFailure: ErrorCode | undefined;

  constructor(private readonly options: ReplicationOptions) {
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
      this.publish({ awaitingRestore }),
    );
    const blocked = { kind: "held", reason: "offline" } as const;
    this.live = new LiveChannel(
      () => this.options.transport.live([this.app$.value]),
      this.runtime,
      options.backoff ?? DEFAULT_BACKOFF,
      {
        event: (e) => this.onLive(e),
        // Hints sent while it was down are lost: catch up.
        reopened: () => this.dispatch({ type: "remote-change" }),
        // The server answered: a backoff from its being out of reach need not run out.
        answered: () => this.reachable(),
      },
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

  private async doStart(): Promise<void> {
    if (this.policySub) return;
    try {
      await this.space.serial(() => this.prepareSchema());
      const all = await this.store.readOutbox(this.ns);
      for (const e of all) if (e.rejected) this.rejectedSeqs.add(e.seq);
      await this.refreshCounts();
    } catch (error) {
      // The engine cannot run on this device (its data is newer than the app, the store cannot be read): start()
      // rejects with it, and status says so until a start succeeds.
      const e = unexpected(error);
      this.startFailure = e.code;
      this.publish({ lastError: statusError(e, this.runtime.now()) });
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
    ).subscribe((snapshot) => this.onPolicy(snapshot));
    this.lastHeard = this.runtime.now();
    this.dispatch({ type: "start" });
    this.fetchRegistry();
  }

  stop(): Promise<void> {
    this.lifecycle = this.lifecycle.catch(() => undefined).then(() => this.doStop());
    return this.lifecycle;
  }

  private async doStop(): Promise<void> {
    if (this.debounceTimer !== undefined) {
      this.runtime.clearTimeout(this.debounceTimer);
      this.debounceTimer = undefined;
      this.dispatch({ type: "local-change" });
    }
    this.policySub?.unsubscribe();
    this.policySub = undefined;
    this.live.close();
    this.stopProbing();
    if (this.safetyTimer !== undefined) this.runtime.clearTimeout(this.safetyTimer);
    this.safetyTimer = undefined;
    this.generation++;
    this.inFlight.clear();
    this.hints.clear();
    this.dispatch({ type: "stop" });
    await this.space.drain();
  }

  async get(collection: string, id: string): Promise<JsonObject | undefined> {
    await this.restoreGate();
    const [doc] = await this.store.getDocuments(this.ns, [{ collection, id }]);
    return doc?.data ? ownCopy(doc.data) : undefined;
  }

  async list(collection: string): Promise<{ id: string; data: JsonObject }[]> {
    await this.restoreGate();
    const docs = await this.store.listDocuments(this.ns, collection);
    return docs.flatMap((d) => (d.data === null ? [] : [{ id: d.id, data: ownCopy(d.data) }]));
  }

  put(collection: string, id: string, data: JsonObject): Promise<WriteReceipt> {
    if (typeof data !== "object" || data === null || Array.isArray(data)) {
      return Promise.reject(
        new HokanError("bad-request", `a document must be a JSON object (${collection}/${id})`),
      );
    }
    return this.write([{ collection, id, data }]).then((w) => w.receipt);
  }

  delete(collection: string, id: string): Promise<WriteReceipt> {
    return this.write([{ collection, id, data: null }]).then((w) => w.receipt);
  }

  async acknowledged(receipt: WriteReceipt, options: WaitOptions = {}): Promise<void> {
    if (!receipt || !Array.isArray(receipt.writes)) {
      throw new HokanError(
        "bad-request",
        "acknowledged() takes what put(), delete() or bulkWrite() resolved with",
      );
    }
    const ticket = this.acks.open(receipt);
    try {
      await this.space.serial(async () => {
        await this.space.ready();
        await this.judgeDocuments([...ticket.remaining.values()]);
      });
      const done = await this.waiters.wait(() => ticket.done, options);
      if (!done) {
        const pending = ticket.remaining.size;
        throw new HokanError(
          "timeout",
          `${pending} written documents not acknowledged within ${options.timeoutMs} ms`,
          {
            details: { pending },
          },
        );
      }
    } finally {
      this.acks.close(ticket);
    }
    const error = ticket.error();
    if (error) throw error;
  }

  async whenAcknowledged(options: WaitOptions = {}): Promise<void> {
    const receipt = await this.space.serial(async () => {
      const { epoch } = await this.space.ready();
      const entries = await this.store.readOutbox(this.ns);
      const writes: WrittenDocument[] = entries.map((e) => ({
        collection: e.collection,
        id: e.id,
        seq: e.seq,
      }));
      return { writes, epoch };
    });
    await this.acknowledged(receipt, options);
  }

  async whenIdle(options: WaitOptions = {}): Promise<IdleResult> {
    const idle = await this.waiters.wait(() => this.isIdle(), options);
    const status = this.status;
    return { idle, acknowledged: status.pending === 0, status };
  }

  async sync(options: SyncOptions = {}): Promise<SyncResult> {
    await this.lifecycle.catch(() => undefined);
    if (!this.policySub) throw new HokanError("bad-request", "start() the replication before sync()");
    const bulk = options.bulk === true;
    const entry = this.registry$.value;
    if (bulk && entry && !entry.capabilities.includes("bulkBackup")) {
      return this.syncResult("held", "capability");
    }
    if (this.status.backup.kind !== "allowed") return this.syncResult("held", this.status.backup.reason);
    const probe: Probe = { bulk, contacted: false, failure: undefined };
    this.probes.add(probe);
    try {
      // Now, whatever the machine was waiting for: a pull (the server's answer is the check), a push of anything
      // pending (no debounce), and no backoff delay.
      if (this.debounceTimer !== undefined) {
        this.runtime.clearTimeout(this.debounceTimer);
        this.debounceTimer = undefined;
      }
      this.dispatch({ type: "remote-change" });
      this.dispatch({ type: "local-change" });
      if (this.state === "backoff") this.retryNow();
      const rested = await this.waiters.wait(() => probe.failure !== undefined || this.isIdle(), options);
      const status = this.status;
      if (probe.failure) return this.syncResult("failed", status.reason, probe.failure);
      if (!rested) return this.syncResult("timed-out", status.reason);
      if (this.state === "fatal") return this.syncResult("failed", status.reason, status.lastError);
      if (status.backup.kind !== "allowed") return this.syncResult("held", status.backup.reason);
      // At rest without an answer (stopped meanwhile): not confirmed.
      if (!probe.contacted) return this.syncResult("failed", status.reason, status.lastError);
      if (status.pending > 0) return this.syncResult("failed", status.reason, this.rejection);
      return this.syncResult("synced", status.reason);
    } finally {
      this.probes.delete(probe);
    }
  }

  private syncResult(
    outcome: SyncResult["outcome"],
    reason: StatusReason | undefined,
    error?: StatusError,
  ): SyncResult {
    const status = this.status;
    return {
      outcome,
      acknowledged: outcome === "synced",
      pending: status.pending,
      ...(reason === undefined ? {} : { reason }),
      ...(error === undefined ? {} : { error }),
      status,
    };
  }

  /** A request was answered by the server: the sync() calls in progress have their check. */
  private contacted(): void {
    for (const p of this.probes) p.contacted = true;
  }

  async backupDeleted(epoch: number): Promise<void> {
    if (!Number.isSafeInteger(epoch) || epoch < 1) {
      throw new HokanError("bad-request", "the epoch of a delete is a positive integer");
    }
    const plan = await this.space.serial(async () => {
      const current = await this.space.ready();
      if (current.epoch !== 0 && epoch <= current.epoch) return undefined;
      const { all } = await this.space.records([], true);
      const reset = planReset(epoch, all?.documents ?? [], all?.entries ?? []);
      const planned: PlannedCommit = {
        commit: {
          documents: reset.documents,
          outboxDelete: reset.dropped.map((e) => e.seq),
          sync: reset.sync,
        },
        changed: [],
        reset: true,
        ...(reset.dropped.length > 0 ? { dropped: reset.dropped } : {}),
      };
      await this.commitPlan(planned);
      await this.refreshCounts();
      return planned;
    });
    if (!plan) return;
    this.afterCommit(plan);
    // Pull the new epoch from its start (what another device backed up since the delete).
    this.dispatch({ type: "remote-change" });
  }

  async refresh(): Promise<void> {
    await this.space.serial(async () => {
      await this.refreshCounts();
      if (this.acks.waiting) await this.judgeAcknowledgements();
    });
    this.waiters.check();
    this.dispatch({ type: "local-change" });
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
    return (await this.write([{ collection, id, data }], "default")).count > 0;
  }

  /** With the guard on, waits for this device's first restore (or its timeout). */
  private async restoreGate(): Promise<void> {
    if (this.gate.isOpen) return;
    await this.space.serial(() => this.space.ready());
    if (this.space.current?.lastPullAt !== undefined) this.gate.openNow();
    await this.gate.wait();
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
    return (await this.write(changes)).receipt;
  }

  /**
   * Writes documents in one store commit. A document written twice in the batch keeps its last state; a write that
   * changes nothing queues nothing.
   */
  private async write(
    changes: readonly WriteChange[],
    kind?: WriteKind,
  ): Promise<{ count: number; receipt: WriteReceipt }> {
    await this.restoreGate();
    const last = new Map<string, WriteChange>();
    for (const c of changes) {
      if (!Object.hasOwn(this.options.collections, c.collection)) {
        throw new HokanError(
          "bad-request",
          `collection ${JSON.stringify(c.collection)} is not backed up by this app`,
        );
      }
      const k = docKey(c);
      last.delete(k);
      last.set(k, c);
    }
    if (last.size === 0) return { count: 0, receipt: { writes: [], epoch: 0 } };
    const { wrote, receipt } = await this.space.serial(async () => {
      await this.space.ready();
      const wanted = [...last.values()];
      // Read afresh: another tab's engine may have learned a new epoch or ticked the clock meanwhile.
      const sync = (await this.store.getSync(this.ns)) ?? INITIAL_SYNC_STATE;
      const locals = await this.store.getDocuments(this.ns, wanted);
      const byKey = groupByDoc(atEpoch(await this.store.outboxFor(this.ns, wanted), sync.epoch));
      const writes: WrittenDocument[] = [];
      const changed = wanted.filter((c, i) => {
        const local = locals[i];
        const queued = byKey.get(docKey(c)) ?? [];
        // A default is written only where the document does not exist (or was deleted).
        const changes =
          kind === "default"
            ? local === undefined || local.data === null
            : local === undefined
              ? c.data !== null
              : !jsonEqual(local.data, c.data) ||
                // The same data, but not on the server: a delete of the backup dropped it. Written again, it goes.
                (local.data !== null && local.base === undefined && queued.length === 0);
        // A write that changes nothing is acknowledged with the state it left alone: its latest queued change.
        if (!changes) {
          const seq = queued.at(-1)?.seq ?? NOTHING_QUEUED;
          writes.push({ collection: c.collection, id: c.id, seq });
        }
        return changes;
      });
      if (changed.length === 0) return { wrote: [], receipt: { writes, epoch: sync.epoch } };
      const localByKey = new Map(locals.flatMap((d) => (d ? [[docKey(d), d] as const] : [])));
      const ctx = this.planContext(sync.epoch);
      ctx.clock.receive(sync.hlc);
      const documents: LocalDocument[] = [];
      const outboxPut: OutboxEntry[] = [];
      const replaced: number[] = [];
      for (const c of changed) {
        const k = docKey(c);
        const key = { collection: c.collection, id: c.id };
        const plan = planLocalWrite(
          ctx,
          key,
          c.data,
          localByKey.get(k),
          byKey.get(k) ?? [],
          this.inFlight,
          kind,
        );
        documents.push(plan.document);
        outboxPut.push(plan.entry);
        if (plan.replaces !== undefined) replaced.push(plan.replaces);
      }
      const given = await this.space.commit({ documents, outboxPut, sync: { hlc: ctx.clock.current } });
      writes.push(...(await this.writtenSeqs(outboxPut, given)));
      for (const seq of replaced) this.rejectedSeqs.delete(seq);
      await this.refreshCounts();
      return { wrote: changed, receipt: { writes, epoch: sync.epoch } };
    });
    if (wrote.length === 0) return { count: 0, receipt };
    for (const w of wrote)
      this.changesSubject.next({ collection: w.collection, id: w.id, data: w.data, origin: "local" });
    this.announceLocalChange();
    return { count: wrote.length, receipt };
  }

  /**
   * The seqs the store gave a write's outbox entries: those it joined keep theirs, new ones get what the store says
   * it gave them (in the order put), or, from a store that does not say, what reading them back finds.
   */
  private async writtenSeqs(
    put: readonly OutboxEntry[],
    given: readonly number[] | undefined,
  ): Promise<WrittenDocument[]> {
    const fresh = put.filter((e) => e.seq <= 0);
    let seqOf = (_e: OutboxEntry, i: number): number => given?.[i] ?? NOTHING_QUEUED;
    if (given === undefined || given.length !== fresh.length) {
      const back = await this.store.outboxFor(this.ns, fresh);
      const byChange = new Map(back.map((e) => [e.changeId, e.seq]));
      const latest = new Map(back.map((e) => [docKey(e), e.seq]));
      // Not found by its change: another engine sharing the store wrote the document into it (its latest change), or
      // sent it and had it acknowledged (none left).
      seqOf = (e) => byChange.get(e.changeId) ?? latest.get(docKey(e)) ?? NOTHING_QUEUED;
    }
    let i = 0;
    return put.map((e) => ({ collection: e.collection, id: e.id, seq: e.seq > 0 ? e.seq : seqOf(e, i++) }));
  }

  /** Tells the machine about local writes; with `debounceMs`, a burst of writes becomes one push. */
  private announceLocalChange(): void {
    const wait = this.options.debounceMs ?? 0;
    if (wait <= 0) {
      this.dispatch({ type: "local-change" });
      return;
    }
    if (this.debounceTimer !== undefined) return;
    this.debounceTimer = this.runtime.setTimeout(() => {
      this.debounceTimer = undefined;
      this.dispatch({ type: "local-change" });
    }, wait);
  }

  // ---- the machine

  private dispatch(event: MachineEvent): void {
    const step = transition(this.state, this.context, event);
    this.state = step.state;
    this.context = step.context;
    for (const effect of step.effects) this.perform(effect);
    this.syncLive();
    this.syncSafetyPull();
    this.publish({});
  }

  private perform(effect: MachineEffect): void {
    switch (effect.type) {
      case "pull":
        void this.runPull();
        return;
      case "push":
        void this.runPush();
        return;
      case "schedule-retry": {
        const delay = backoffDelay(
          effect.attempt,
          () => this.runtime.random(),
          this.options.backoff ?? DEFAULT_BACKOFF,
        );
        this.retryTimer = this.runtime.setTimeout(() => {
          this.retryTimer = undefined;
          this.stopProbing();
          this.dispatch({ type: "retry-due" });
        }, delay);
        const probeMs = this.options.probeMs ?? PROBE_MS;
        if (probeMs > 0 && delay > probeMs && this.failureCode && UNREACHABLE_CODES.has(this.failureCode)) {
          this.scheduleProbe(probeMs);
        }
        return;
      }
      case "cancel-retry":
        if (this.retryTimer !== undefined) this.runtime.clearTimeout(this.retryTimer);
        this.retryTimer = undefined;
        this.stopProbing();
        return;
    }
  }

  /**
   * While backing off from a failure that may only mean the server is out of reach, asks whether it can be reached
   * every `probeMs` (with jitter): a partition that heals is noticed within seconds, not at the end of a long delay.
   * A server that answers but fails (`server`, `rate-limited`) is left its backoff.
   */
  private scheduleProbe(probeMs: number): void {
    const probe = this.options.transport.probe?.bind(this.options.transport);
    if (!probe) return;
    const generation = this.generation;
    this.probeTimer = this.runtime.setTimeout(
      () => {
        this.probeTimer = undefined;
        probe().then(
          () => {
            if (generation === this.generation) this.reachable();
          },
          () => {
            if (generation === this.generation && this.state === "backoff" && this.retryTimer !== undefined) {
              this.scheduleProbe(probeMs);
            }
          },
        );
      },
      Math.round(probeMs / 2 + this.runtime.random() * (probeMs / 2)),
    );
  }

  private stopProbing(): void {
    if (this.probeTimer !== undefined) this.runtime.clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
  }

  /** The server answered (a probe, a reopened live channel): a backoff from its being out of reach ends now. */
  private reachable(): void {
    if (this.state !== "backoff" || !this.failureCode || !UNREACHABLE_CODES.has(this.failureCode)) return;
    this.retryNow();
    this.live.retryNow();
  }

  /** Ends a backoff now instead of at its delay. */
  private retryNow(): void {
    this.perform({ type: "cancel-retry" });
    this.dispatch({ type: "retry-due" });
  }

  /**
   * A pull when the server has told this device nothing for `safetyPullMs` while it rests with restores allowed: a
   * hint lost on the way (the live channel is best effort) is found within that time at worst. The timer runs only
   * while resting so; the quiet counts from the server's last word.
   */
  private syncSafetyPull(): void {
    const every = this.options.safetyPullMs ?? SAFETY_PULL_MS;
    const wanted =
      every > 0 && this.policySub !== undefined && this.state === "idle" && this.context.restoreAllowed;
    if (!wanted) {
      if (this.safetyTimer !== undefined) this.runtime.clearTimeout(this.safetyTimer);
      this.safetyTimer = undefined;
      return;
    }
    if (this.safetyTimer !== undefined) return;
    const due = Math.max(1, every - (this.runtime.now() - this.lastHeard));
    this.safetyTimer = this.runtime.setTimeout(() => {
      this.safetyTimer = undefined;
      if (this.runtime.now() - this.lastHeard >= every) {
        this.lastHeard = this.runtime.now();
        this.dispatch({ type: "remote-change" });
      } else {
        this.syncSafetyPull();
      }
    }, due);
  }

  private onPolicy(snapshot: PolicySnapshot): void {
    this.publish({ backup: snapshot.backup, restore: snapshot.restore });
    this.dispatch({
      type: "policy",
      backupAllowed: snapshot.backup.kind === "allowed",
      restoreAllowed: snapshot.restore.kind === "allowed",
      inputsVersion: snapshot.inputsVersion,
    });
  }

  // ---- pull

  /**
   * Runs one pull as {@link stepPull} decides it (pull-session.ts: pages pipelined one ahead, committed in order, when
   * it is over), each page asking for twice as many documents as the last (up to `pullBatchMax`).
   */
  private async runPull(): Promise<void> {
    const generation = this.generation;
    const inputs = this.context.inputsVersion;
    const mayContinue = () =>
      generation === this.generation && this.state === "pulling" && this.context.restoreAllowed;
    // Pages grow while there is more: few round trips for a restore, and its first documents soon.
    let limit = this.options.pullBatchSize ?? 500;
    const maxLimit = Math.max(limit, this.options.pullBatchMax ?? 4000);
    const pages = new Map<number, PageRequest>();
    const answers = new Map<number, PullResponse>();
    try {
      const sync = await this.space.serial(() => this.space.ready());
      // A small change the live channel carried, when it follows the checkpoint (nothing else commits a checkpoint
      // while the device pulls); otherwise the server is asked — and always while a sync() waits for its answer.
      const kept = this.hints.takePage(sync.checkpoint);
      const carried = this.probes.size === 0 ? kept : undefined;
      const begun = startPull(sync.checkpoint, carried !== undefined);
      let session = begun.session;
      const queue: PullEffect[] = [...begun.effects];
      const feed = (event: PullEvent) => {
        const step = stepPull(session, event, mayContinue());
        session = step.session;
        queue.push(...step.effects);
      };
      for (let effect = queue.shift(); effect !== undefined; effect = queue.shift()) {
        switch (effect.type) {
          case "ask": {
            const request = { scope: this.app$.value, checkpoint: effect.checkpoint, limit };
            limit = Math.min(limit * 2, maxLimit);
            pages.set(
              effect.id,
              trackPage(
                this.runtime.now(),
                this.remote(() => this.options.transport.pull(request)),
              ),
            );
            break;
          }
          case "carried":
            pages.set(effect.id, trackPage(this.runtime.now(), Promise.resolve(carried as PullResponse)));
            break;
          case "commit": {
            const response = answers.get(effect.id) as PullResponse;
            const sentAt = (pages.get(effect.id) as PageRequest).sentAt;
            answers.delete(effect.id);
            pages.delete(effect.id);
            const stale = !(await this.commitPage(response, sentAt));
            if (generation !== this.generation) return;
            feed({ type: "committed", id: effect.id, stale });
            break;
          }
          case "fail": {
            const outcome = await (pages.get(effect.id) as PageRequest).settled;
            throw "reason" in outcome ? outcome.reason : new HokanError("internal", "a pull page failed");
          }
          case "finish":
            if (effect.restored) this.gate.openNow();
            this.dispatch({ type: "pull-done", more: effect.more });
            return;
        }
        if (queue.length === 0 && session.asked !== undefined && session.committing === undefined) {
          // Nothing to do until the page asked for is answered.
          const id = session.asked;
          const outcome = await (pages.get(id) as PageRequest).settled;
          if (generation !== this.generation) return;
          if ("response" in outcome) answers.set(id, outcome.response);
          feed({
            type: "answered",
            id,
            answer:
              "reason" in outcome
                ? { ok: false }
                : {
                    ok: true,
                    more: outcome.response.more,
                    reset: outcome.response.reset,
                    checkpoint: outcome.response.checkpoint,
                  },
          });
        }
      }
    } catch (error) {
      if (generation === this.generation) this.fail(error, inputs);
    }
  }

  /** Commits one pull page in one store step; `false` when it is of an epoch the device has left (nothing done). */
  private async commitPage(response: PullResponse, sentAt: number): Promise<boolean> {
    const generation = this.generation;
    const planned = await this.space.serial(async () => {
      const current = await this.space.ready();
      if (staleEpoch(current, response.epoch)) return undefined;
      const keys = response.documents;
      const ctx = this.planContext(response.epoch);
      // Every record on an epoch change (every document is rebased, every queued change judged).
      const records = await this.space.records(keys, epochMoved(current, response.epoch, response.reset));
      const plan = await planPull(
        ctx,
        { ...records, sync: this.space.measureClock(current, sentAt, response.serverTime) },
        response,
        this.runtime.now(),
      );
      await this.commitPlan(plan);
      await this.refreshCounts();
      return plan;
    });
    if (!planned) return false;
    if (generation !== this.generation) return true;
    if (!Number.isNaN(response.serverTime)) this.contacted();
    this.afterCommit(planned);
    this.publish({ lastError: this.standingError() });
    this.lastHeard = this.runtime.now();
    return true;
  }

  // ---- push

  /**
   * Runs one push as {@link stepPush} decides it (push-session.ts: which batch goes out, which answer is committed
   * next, when it is over): this turns its effects into store and transport work and feeds back what came of them.
   */
  private async runPush(): Promise<void> {
    const generation = this.generation;
    const inputs = this.context.inputsVersion;
    // A retried batch (same changes) goes under the same idempotency key as its earlier unanswered attempt.
    const earlier = this.lastAttempts;
    this.lastAttempts = new Map();
    const prepared = new Map<number, PreparedBatch>();
    const sent = new Map<number, InFlightBatch>();
    const reported = new Set<number>();
    let ids = 0;
    let failure: { reason: unknown } | undefined;
    const env = (): PushEnvironment => ({
      mayContinue:
        generation === this.generation &&
        this.state === "pushing" &&
        this.context.backupAllowed &&
        !this.context.needPull &&
        this.hints.explained(this.space.current?.checkpoint),
      checkpoint: this.space.current?.checkpoint,
    });
    const begun = startPush(this.options.pushesInFlight ?? 3);
    let session = begun.session;
    const queue: PushEffect[] = [...begun.effects];
    const feed = (event: PushEvent) => {
      const step = stepPush(session, event, env());
      session = step.session;
      queue.push(...step.effects);
    };
    /** Answers that came since the last look, fed in the order the batches were sent. */
    const collect = () => {
      for (const [id, b] of sent) {
        if (reported.has(id) || !b.outcome) continue;
        reported.add(id);
        const outcome = b.outcome;
        feed({
          type: "answered",
          id,
          answer: "reason" in outcome ? { ok: false } : batchAnswer(outcome.response),
        });
      }
    };
    try {
      for (;;) {
        collect();
        const effect = queue.shift();
        if (effect === undefined) {
          if (session.done) return;
          // Nothing to do until an answer comes.
          await Promise.race([...sent.values()].filter((b) => !b.outcome).map((b) => b.settled));
          if (generation !== this.generation) return;
          continue;
        }
        switch (effect.type) {
          case "prepare": {
            const next = await this.space.serial(() => this.prepareBatch([...sent.values()]));
            if (next) prepared.set(++ids, next);
            feed({ type: "prepared", ...(next ? { id: ids } : {}) });
            break;
          }
          case "send": {
            // A batch prepared before a stop() still goes out, as a request already on its way would; its answer is
            // dropped. Fingerprints are worked out only when an earlier batch went unanswered, or for this one when it
            // does.
            const next = prepared.get(effect.id) as PreparedBatch;
            prepared.delete(effect.id);
            const key =
              (earlier.size > 0 && earlier.get(pushFingerprint(next.changes))) || randomId(this.runtime);
            const answer = this.remote(() =>
              this.options.transport.push({
                scope: this.app$.value,
                idempotencyKey: key,
                changes: next.changes,
                ...([...this.probes].some((p) => p.bulk) ? { bulk: true } : {}),
              }),
            );
            sent.set(effect.id, trackBatch(next, key, this.runtime.now(), answer));
            this.publish({ inFlight: true });
            break;
          }
          case "commit": {
            const head = sent.get(effect.id) as InFlightBatch;
            sent.delete(effect.id);
            const pullNeeded = await this.commitAnswer(head, (reason) => {
              failure ??= { reason };
            });
            if (generation !== this.generation) return;
            feed({ type: "committed", id: effect.id, pullNeeded });
            break;
          }
          case "finish": {
            this.inFlight.clear();
            this.releaseHint();
            if (failure) throw failure.reason;
            this.publish({ lastError: this.standingError() });
            // More to push: what the outbox holds beyond the changes refused for good.
            const more = (await this.store.countOutbox(this.ns)) > this.rejectedSeqs.size;
            if (generation !== this.generation) return;
            this.dispatch({ type: "push-done", more, pullNeeded: effect.pullNeeded });
            return;
          }
        }
      }
    } catch (error) {
      if (generation !== this.generation) return;
      this.inFlight.clear();
      this.releaseHint();
      this.fail(error, inputs);
    }
  }

  /**
   * Commits one batch's answer: a failure is recorded (its idempotency key kept for the retry, a server failure's
   * changes made suspects) and reported through `failed`; an answer's results are planned and committed in one store
   * step. Returns whether the answer showed changes to pull.
   */
  private async commitAnswer(head: InFlightBatch, failed: (reason: unknown) => void): Promise<boolean> {
    const outcome = head.outcome as Outcome<PushResponse>;
    if ("reason" in outcome) {
      failed(outcome.reason);
      this.lastAttempts.set(pushFingerprint(head.changes), head.key);
      if (HokanError.is(outcome.reason, "server")) await this.serverFailed(head.batch, outcome.reason);
      return false;
    }
    for (const e of head.batch) this.suspects.delete(e.seq);
    this.othersAnswered = true;
    const generation = this.generation;
    const plan = await this.space.serial(async () => {
      const current = await this.space.ready();
      if (staleEpoch(current, outcome.response.epoch)) {
        for (const e of head.batch) this.inFlight.delete(e.seq);
        return undefined;
      }
      // Changes a conflict resolution queues are made knowing the server's current epoch.
      const ctx = this.planContext(outcome.response.epoch);
      const moved = epochMoved(current, outcome.response.epoch, false);
      const records = moved
        ? await this.space.records(head.batch, true)
        : await this.space.records(head.batch, false, (documents) =>
            documentsNeedingEntries(head.batch, outcome.response, documents),
          );
      const plan = await planPushResults(
        ctx,
        { ...records, sync: this.space.measureClock(current, head.sentAt, outcome.response.serverTime) },
        head.batch,
        outcome.response,
        this.runtime.now(),
      );
      await this.commitPlan(plan);
      this.noteRejections(plan.rejected, head.batch);
      for (const e of head.batch) this.inFlight.delete(e.seq);
      await this.refreshCounts();
      return plan;
    });
    if (generation !== this.generation) return false;
    this.contacted();
    if (!plan) return false;
    this.afterCommit(plan);
    return plan.pullNeeded;
  }

  /** Once nothing is in flight: a held hint no answer explained is another device's change, to pull. */
  private releaseHint(): void {
    if (this.hints.release(this.space.current?.checkpoint)) this.dispatch({ type: "remote-change" });
  }

  /**
   * The next batch, read in one store step: the oldest queued change of each document no batch in `window` holds.
   * With batches in flight it reads past the newest of them, so the store does not read (and copy) them again; a
   * change left behind (its document busy) goes in the next push.
   */
  private async prepareBatch(window: readonly InFlightBatch[]): Promise<PreparedBatch | undefined> {
    if (this.suspects.size > 0) {
      // Finding the change the server fails on: one at a time, alone.
      if (window.length > 0) return undefined;
      const suspect = await this.nextSuspect();
      if (suspect) return this.prepared([suspect]);
      this.suspects.clear();
    }
    const size = this.options.pushBatchSize ?? 200;
    const busy = new Set<string>();
    let newest: number | undefined;
    for (const sent of window) {
      for (const e of sent.batch) busy.add(docKey(e));
      const last = sent.batch.at(-1);
      if (last) newest = Math.max(newest ?? 0, last.seq);
    }
    // Room for refused entries, skipped by pickBatch. A document's later change (made while its earlier one was in
    // flight; otherwise writes coalesce) may leave the batch short: it goes in the next one. Reading more than a
    // batch on the chance cost a copy of every entry read, which on IndexedDB is most of a push's reading.
    const limit = size + this.rejectedSeqs.size;
    // Under the epoch known now, in this store step: the answer is judged against the epoch the change was sent in.
    const { epoch } = await this.space.ready();
    const entries = atEpoch(await this.store.readOutbox(this.ns, limit, newest), epoch);
    const batch = pickBatch(
      entries.filter((e) => !busy.has(docKey(e))),
      size,
    );
    if (batch.length === 0) {
      // A sync() must hear from the server: where no pull can (the registry offers no restore), an empty push does.
      const confirm =
        window.length === 0 && !this.context.restoreAllowed && [...this.probes].some((p) => !p.contacted);
      return confirm ? { batch: [], changes: [] } : undefined;
    }
    return this.prepared(batch);
  }

  /** A batch's changes in their wire form, its entries marked in flight. */
  private async prepared(batch: OutboxEntry[]): Promise<PreparedBatch> {
    const docs = await this.store.getDocuments(this.ns, batch);
    const changes = batch.map((e, k) =>
      toPushChange(e, docs[k], this.options.deltas ?? true, this.schema.version),
    );
    for (const e of batch) this.inFlight.add(e.seq);
    return { batch, changes };
  }

  /** The queued suspect tried the fewest times alone: the others get their turn between a failing change's tries. */
  private async nextSuspect(): Promise<OutboxEntry | undefined> {
    const { epoch } = await this.space.ready();
    let next: OutboxEntry | undefined;
    for (const e of atEpoch(await this.store.readOutbox(this.ns), epoch)) {
      const tries = this.suspects.get(e.seq);
      if (tries === undefined || e.rejected !== undefined) continue;
      if (next === undefined || tries < (this.suspects.get(next.seq) ?? 0)) next = e;
    }
    return next;
  }

  /**
   * The server failed (500) on a batch: its changes are suspects, sent alone from now on, the least tried first. One
   * that fails alone {@link SERVER_FAILURES_PER_CHANGE} times while the server answers other changes is set aside as
   * refused with `server` (status shows it, its wait rejects, its document's next write replaces it), and the rest goes
   * on. A server failing on everything is only retried, with backoff, and shown in `lastError`.
   */
  private async serverFailed(batch: readonly OutboxEntry[], error: HokanError): Promise<void> {
    if (batch.length !== 1) {
      if (this.suspects.size === 0) this.othersAnswered = false;
      for (const e of batch) if (!this.suspects.has(e.seq)) this.suspects.set(e.seq, 0);
      return;
    }
    const entry = batch[0] as OutboxEntry;
    const failures = (this.suspects.get(entry.seq) ?? 0) + 1;
    this.suspects.set(entry.seq, failures);
    // Set aside only while the server answers other changes: a server failing on everything is waited out instead.
    if (failures < SERVER_FAILURES_PER_CHANGE || !this.othersAnswered) return;
    this.suspects.delete(entry.seq);
    const message = `the server failed on this change ${failures} times (${error.message})`;
    await this.space.serial(async () => {
      const [current] = await this.store.outboxFor(this.ns, [entry]);
      // Written again meanwhile: the new change gets its own chances.
      if (!current || current.seq !== entry.seq || current.changeId !== entry.changeId) return;
      const plan: PlannedCommit = {
        commit: { outboxPut: [{ ...current, rejected: { code: "server", message } }] },
        changed: [],
        reset: false,
      };
      await this.commitPlan(plan);
      this.noteRejections(
        [{ changeId: entry.changeId, status: "rejected", code: "server", message }],
        [entry],
      );
      await this.refreshCounts();
    });
  }

  /** Changes the server refused for good wait for their document's next write; the latest refusal is reported. */
  private noteRejections(rejected: readonly PushResult[], batch: readonly OutboxEntry[]): void {
    for (const r of rejected) {
      const e = batch.find((b) => b.changeId === r.changeId);
      if (!e || r.status !== "rejected" || r.code === "bad-patch") continue;
      this.rejectedSeqs.add(e.seq);
      this.rejection = {
        code: isErrorCode(r.code) ? r.code : "bad-request",
        message: `${e.collection}/${e.id}: ${r.message}`,
        retryable: false,
        at: this.runtime.now(),
      };
    }
  }

  // ---- shared plumbing

  private planContext(epoch: number): PlanContext {
    // New outbox entries get placeholder seqs; the store numbers them when committing.
    let placeholder = 0;
    return {
      schema: this.schema,
      strategyOf: (collection) => this.options.collections[collection] ?? "lww",
      clock: this.space.clock,
      epoch,
      newChangeId: () => randomId(this.runtime),
      nextSeq: () => --placeholder,
    };
  }

  private async commitPlan(plan: PlannedCommit): Promise<void> {
    await this.space.commit(plan.commit);
    for (const seq of plan.commit.outboxDelete ?? []) this.rejectedSeqs.delete(seq);
    if (plan.dropped) this.acks.noteDropped(plan.dropped);
    if (this.acks.waiting) await this.judgeAcknowledgements(plan);
  }

  /**
   * Judges the waits for acknowledgements that a commit may have settled (every wait without one), in the store
   * step of the commit: what the server acknowledged is noted first, then each waited-for document's queued changes
   * are read.
   */
  private async judgeAcknowledgements(plan?: PlannedCommit): Promise<void> {
    for (const a of plan?.acked ?? []) this.acks.noteAcknowledged(a, a.seq);
    const touched =
      plan === undefined || plan.reset
        ? undefined
        : [
            ...(plan.commit.documents ?? []),
            ...(plan.commit.outboxPut ?? []),
            ...(plan.dropped ?? []),
            ...(plan.acked ?? []),
          ];
    await this.judgeDocuments(this.acks.waitedFor(touched));
  }

  /** Judges the waits on these documents against their queued changes as the store holds them now. */
  private async judgeDocuments(keys: readonly DocumentKey[]): Promise<void> {
    if (keys.length === 0) return;
    const epoch = this.space.current?.epoch ?? 0;
    this.acks.judge(keys, atEpoch(await this.store.outboxFor(this.ns, keys), epoch), epoch);
  }

  private afterCommit(plan: PlannedCommit): void {
    if (plan.reset) {
      this.quota$.next(false);
      this.rejectedSeqs.clear();
    }
    for (const d of plan.changed) {
      this.changesSubject.next({ collection: d.collection, id: d.id, data: d.data, origin: "remote" });
    }
    if (plan.dropped && plan.dropped.length > 0) {
      // The rule is right (a delete wins over changes made before the device heard of it), but never silent.
      this.droppedCount += plan.dropped.length;
      const documents = new Map(plan.dropped.map((e) => [docKey(e), { collection: e.collection, id: e.id }]));
      this.droppedSubject.next({
        reason: "deleted",
        epoch: this.space.current?.epoch ?? 0,
        documents: [...documents.values()],
      });
      this.publish({ dropped: this.droppedCount });
    }
    this.waiters.check();
  }

  /** An error that stands until its cause goes: a refused change, or backed-up data too new for this app. */
  private standingError(): StatusError | undefined {
    if (this.rejection) return this.rejection;
    const awaiting = this.space.current?.awaitingSchema;
    if (awaiting === undefined || awaiting <= this.schema.version) return undefined;
    return {
      code: "upgrade-required",
      message: `the backup holds data of schema ${awaiting}; this app reads ${this.schema.version}: update it to restore that data`,
      retryable: false,
      at: this.runtime.now(),
    };
  }

  private async refreshCounts(): Promise<void> {
    if (this.rejectedSeqs.size === 0) this.rejection = undefined;
    const pending = await this.store.countOutbox(this.ns);
    const sync = this.space.current;
    this.publish({
      pending,
      rejected: this.rejectedSeqs.size,
      epoch: sync?.epoch ?? 0,
      ...(sync?.lastPullAt === undefined ? {} : { lastPullAt: sync.lastPullAt }),
      ...(sync?.lastPushAt === undefined ? {} : { lastPushAt: sync.lastPushAt }),
    });
  }

  private async remote<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw HokanError.from(error, "network");
    }
  }

  private fail(error: unknown, inputsVersion: number): void {
    const e = unexpected(error);
    this.failureCode = e.code;
    const lastError = statusError(e, this.runtime.now());
    for (const p of this.probes) p.failure ??= lastError;
    this.publish({ inFlight: false, lastError });
    if (REGISTRY_CODES.has(e.code)) this.fetchRegistry();
    this.dispatch({ type: "failed", code: e.code, retryable: e.retryable, inputsVersion });
    // The account's backup is full (the server said so): from now policy denies backup (and restores go on). Told
    // after the failure, so the machine does not take the new input for a reason to retry the refused push. A full
    // device is retried instead.
    if (e.code === "quota" && e.details?.where !== "device") this.quota$.next(true);
  }

  private fetchRegistry(): void {
    const { appId, platform } = this.app$.value;
    this.options.transport.registry(platform).then(
      (entries) => this.registry$.next(entries.find((e) => e.appId === appId) ?? null),
      () => undefined, // unknown stays unknown; the server still decides each request
    );
  }

  /**
   * Brings the device's data to the app's schema at start: after an upgrade, local documents and queued changes are
   * migrated in one commit, and documents the server held back as too new are pulled again. A device whose data is
   * newer than the app (a downgrade) does not replicate: it would overwrite what it cannot read.
   */
  private async prepareSchema(): Promise<void> {
    const sync = await this.space.ready();
    const from = sync.schemaVersion ?? 1;
    const to = this.schema.version;
    if (from > to) {
      throw new HokanError(
        "upgrade-required",
        `the data on this device is at schema ${from}; this app reads ${to}`,
      );
    }
    if (from === to) return;
    const store = this.store;
    const documents = (await store.listDocuments(this.ns)).map((d) => this.schema.upgradeDocument(d, from));
    const outboxPut = (await store.readOutbox(this.ns)).map((e) => this.schema.upgradeEntry(e, from));
    const awaiting = sync.awaitingSchema ?? 0;
    // Documents held back as too new are readable now: pull the epoch from its start again to take them.
    const refetch = awaiting > 0 && awaiting <= to;
    await this.space.commit({
      documents,
      outboxPut,
      sync: {
        schemaVersion: to,
        ...(refetch ? { awaitingSchema: 0, checkpoint: { epoch: sync.epoch, seq: 0 } } : {}),
      },
    });
  }

  // ---- live channel

  private syncLive(): void {
    this.live.want(this.policySub !== undefined && this.context.restoreAllowed && this.state !== "fatal");
  }

  private onLive(event: LiveHint): void {
    if (event.appId !== this.app$.value.appId) return;
    this.lastHeard = this.runtime.now();
    if (this.hints.receive(event, this.space.current?.checkpoint, this.inFlight.size > 0))
      this.dispatch({ type: "remote-change" });
  }

  // ---- status

  private isIdle(): boolean {
    // A write waiting out its debounce is about to be pushed: not at rest yet.
    if (this.debounceTimer !== undefined && this.state !== "stopped") return false;
    return this.state === "idle" || this.state === "fatal" || this.state === "stopped";
  }

  private publish(
    patch: Partial<{ -readonly [K in keyof ReplicationStatus]: ReplicationStatus[K] | undefined }>,
  ): void {
    const prev = this.statusSubject.value;
    const merged: Record<string, unknown> = { ...prev, ...patch, state: this.state };
    if (this.state !== "pulling" && this.state !== "pushing") merged.inFlight = false;
    delete merged.reason;
    for (const k of Object.keys(merged)) if (merged[k] === undefined) delete merged[k];
    const next = merged as unknown as ReplicationStatus;
    const stopped = this.state === "fatal" ? this.context.fatalCode : undefined;
    const awaiting = this.space.current?.awaitingSchema;
    const standing =
      awaiting !== undefined && awaiting > this.schema.version ? "upgrade-required" : undefined;
    // A start that failed decided no policy: its reason comes first.
    const reason = this.startFailure ?? statusReason(next.backup, next.restore, stopped, standing);
    const status: ReplicationStatus = reason === undefined ? next : { ...next, reason };
    // Only a snapshot that says something new is emitted.
    if (!jsonEqual(prev as never, status as never)) this.statusSubject.next(status);
    this.waiters.check();
  }
}

/** The app's own copy of a document a store handed out frozen (the memory store does); others are the app's already. */
function ownCopy(data: JsonObject): JsonObject {
  return Object.isFrozen(data) ? cloneJson(data) : data;
}

/** An error as status shows it. */
function statusError(e: HokanError, at: number): StatusError {
  return { code: e.code, message: e.message, retryable: e.retryable, at };
}
