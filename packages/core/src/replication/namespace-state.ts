import { HokanError } from "../errors.js";
import { HybridLogicalClock } from "../hlc.js";
import {
  type DocumentKey,
  INITIAL_SYNC_STATE,
  type LocalDocument,
  type LocalStore,
  mergeSyncState,
  type Namespace,
  type StoreCommit,
  type SyncState,
} from "../ports.js";
import type { Runtime } from "../runtime.js";
import { atEpoch, docKey, type PlanRecords } from "./plans.js";

/**
 * One replication's view of its namespace in the store: the cached sync state, the hybrid logical clock (on the
 * device clock corrected by the server's), a queue that runs store work one piece at a time, and the reads and commits
 * the plans need.
 */
export class NamespaceState {
  private sync: SyncState | undefined;
  private clockValue: HybridLogicalClock | undefined;
  private clockOffset = 0;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: LocalStore,
    readonly ns: Namespace,
    private readonly deviceId: string,
    private readonly runtime: Pick<Runtime, "now">,
  ) {}

  /** The cached sync state (after {@link ready}). */
  get current(): SyncState | undefined {
    return this.sync;
  }

  get clock(): HybridLogicalClock {
    if (!this.clockValue) throw new HokanError("storage", "replication state not loaded");
    return this.clockValue;
  }

  /** Loads the sync state and clock once; later calls return the cached state. */
  async ready(): Promise<SyncState> {
    if (this.sync && this.clockValue) return this.sync;
    const sync = (await this.store.getSync(this.ns)) ?? INITIAL_SYNC_STATE;
    this.sync = sync;
    this.clockOffset = sync.clockOffset ?? 0;
    this.clockValue = new HybridLogicalClock(
      this.deviceId,
      () => this.runtime.now() + this.clockOffset,
      sync.hlc,
    );
    return sync;
  }

  /** Runs store work after the work queued before it (a failure does not block what follows). */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Waits for the queued store work. */
  drain(): Promise<unknown> {
    return this.queue;
  }

  /**
   * The documents and outbox entries a plan reads, entries as of the cached epoch ({@link atEpoch}); with
   * `everything` (an epoch moved: every document is rebased, every queued change judged), every document and outbox
   * entry of the namespace too. With `entriesOf`, only the entries of the documents it picks (given the documents
   * read) are read.
   */
  async records(
    keys: readonly DocumentKey[],
    everything: boolean,
    entriesOf?: (documents: ReadonlyMap<string, LocalDocument>) => readonly DocumentKey[],
  ): Promise<Omit<PlanRecords, "sync">> {
    const epoch = this.sync?.epoch ?? 0;
    const list = await this.store.getDocuments(this.ns, keys);
    const documents = new Map<string, LocalDocument>();
    for (const d of list) if (d) documents.set(docKey(d), d);
    const entries = atEpoch(
      await this.store.outboxFor(this.ns, entriesOf ? entriesOf(documents) : keys),
      epoch,
    );
    if (!everything) return { documents, entries };
    return {
      documents,
      entries,
      all: {
        documents: await this.store.listDocuments(this.ns),
        entries: atEpoch(await this.store.readOutbox(this.ns), epoch),
      },
    };
  }

  /** Commits atomically and keeps the cached sync state in step; resolves with the store's new seqs, if it told. */
  async commit(commit: StoreCommit): Promise<readonly number[] | undefined> {
    let seqs: readonly number[] | undefined | undefined;
    try {
      seqs = await this.store.commit(this.ns, commit);
    } catch (error) {
      throw HokanError.from(error, "storage");
    }
    if (commit.sync) this.sync = mergeSyncState(this.sync, commit.sync);
    return Array.isArray(seqs) ? seqs : undefined;
  }

  /**
   * Measures the server clock's offset from this device's (assuming the answer was made halfway through the round
   * trip) and rebases the HLC on it, before the answer's times are taken in.
   */
  measureClock(sync: SyncState, sentAt: number, serverTime: number): SyncState {
    if (!Number.isFinite(serverTime)) return sync;
    const receivedAt = this.runtime.now();
    this.clockOffset = Math.round(serverTime - (sentAt + receivedAt) / 2);
    this.clockValue?.rebase();
    return { ...sync, clockOffset: this.clockOffset };
  }
}
