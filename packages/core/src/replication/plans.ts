import type { JsonObject } from "../json.js";
import type {
  Acknowledgement,
  DocumentKey,
  LocalDocument,
  OutboxEntry,
  StoreCommit,
  SyncState,
} from "../ports.js";
import type { PullResponse, WriteKind } from "../protocol.js";
import type { WrittenDocument } from "./acknowledgements.js";
import { type PlanContext, planReset, reconcile } from "./reconcile.js";

/** The key of a document in maps. */
export function docKey(k: DocumentKey): string {
  return `${k.collection}\u0000${k.id}`;
}

/** Records a plan reads, loaded by the runner from the store. */
export interface PlanRecords {
  readonly sync: SyncState;
  readonly documents: ReadonlyMap<string, LocalDocument>;
  /** Outbox entries of the documents involved, in seq order, as of the device's epoch ({@link atEpoch}). */
  readonly entries: readonly OutboxEntry[];
  /** Every outbox entry of the namespace, and every document: loaded only when the epoch changed. */
  readonly all?: { readonly documents: readonly LocalDocument[]; readonly entries: readonly OutboxEntry[] };
}

/** A commit plus what it means for the app and the runner. */
export interface PlannedCommit {
  readonly commit: StoreCommit;
  /** Documents whose local state changed, for the app's change stream. */
  readonly changed: readonly LocalDocument[];
  /** The server's epoch moved on: the app's backup was deleted. */
  readonly reset: boolean;
  /** Documents the server acknowledged, each with the seq of the device's change it acknowledged. */
  readonly acked?: readonly WrittenDocument[];
  /** Queued changes dropped by a delete of the backup: they will never reach the server. */
  readonly dropped?: readonly OutboxEntry[];
}

/**
 * Queued changes as of the device's epoch `syncEpoch`: a change queued before the device's first contact keeps
 * epoch 0 in the store and belongs to the first epoch the device learned, so it is read as `syncEpoch` until an epoch
 * change drops it ({@link planReset}). Joining the server's epoch this way at first contact costs no write; rewriting
 * every queued change instead cost a write per change (100 MB for 100,000 changes of 1 KB). Every plan reads entries
 * through this, in the same store step as the sync state, so a change is sent and answered under the epoch it was
 * read at, and a reset between the two cannot carry it into the next epoch.
 */
export function atEpoch(entries: readonly OutboxEntry[], syncEpoch: number): OutboxEntry[] {
  if (syncEpoch === 0) return entries as OutboxEntry[];
  return entries.map((e) => (e.epoch === 0 ? { ...e, epoch: syncEpoch } : e));
}

/** Does this answer carry a newer epoch than the device knows (the backup was deleted meanwhile)? */
export function epochMoved(sync: SyncState, epoch: number, reset: boolean): boolean {
  return reset || (sync.epoch !== 0 && epoch > sync.epoch);
}

/**
 * Is this answer from an epoch the device has already left? Epochs only grow: such an answer was made before a delete
 * the device has since heard of (one push of a window the server applied before the delete, answered after another
 * that told of it). What it says is about a backup that is gone, and the changes it names were dropped with it: it
 * must change nothing, least of all take the device back to the old epoch.
 */
export function staleEpoch(sync: SyncState, epoch: number): boolean {
  return sync.epoch !== 0 && epoch < sync.epoch;
}

/** Collects what a plan commits, one entry per document and outbox seq. */
export class CommitBuilder {
  private readonly documents = new Map<string, LocalDocument>();
  private readonly deletes = new Set<number>();
  private readonly puts = new Map<number, OutboxEntry>();
  readonly changed: LocalDocument[] = [];
  readonly acked: WrittenDocument[] = [];
  private readonly dropped = new Map<number, OutboxEntry>();
  /** Documents that differ from their stored record only in a base that is now their own write. */
  private readonly rebased = new Map<string, LocalDocument>();

  doc(d: LocalDocument): void {
    this.documents.set(docKey(d), d);
    this.rebased.delete(docKey(d));
  }
  /**
   * `d` is its stored record (as read for this plan) with a base that is now its own write (same data and HLC): a
   * store that takes acknowledgements is told just that, and rewrites no document.
   */
  rebase(d: LocalDocument): void {
    const k = docKey(d);
    if (this.documents.has(k)) this.documents.set(k, d);
    else this.rebased.set(k, d);
  }
  drop(seqs: readonly number[]): void {
    for (const s of seqs) {
      this.deletes.add(s);
      this.puts.delete(s);
    }
  }
  put(e: OutboxEntry): void {
    this.deletes.delete(e.seq);
    this.puts.set(e.seq, e);
  }
  /** The server acknowledged the device's change `seq` of `key`. */
  ack(key: DocumentKey, seq: number): void {
    this.acked.push({ collection: key.collection, id: key.id, seq });
  }
  /** Changes dropped because the backup was deleted. */
  dropByDelete(entries: readonly OutboxEntry[]): void {
    this.drop(entries.map((e) => e.seq));
    for (const e of entries) this.dropped.set(e.seq, e);
  }
  /** What the app is told of the commit besides its documents. */
  outcomes(): Pick<PlannedCommit, "acked" | "dropped"> {
    return {
      ...(this.acked.length > 0 ? { acked: this.acked } : {}),
      ...(this.dropped.size > 0 ? { dropped: [...this.dropped.values()] } : {}),
    };
  }
  /** The commit; with `acknowledgements` (the store takes them), rebased documents go as acknowledgements. */
  build(sync: Partial<SyncState>, acknowledgements = false): StoreCommit {
    const acknowledged: Acknowledgement[] = [];
    const documents = [...this.documents.values()];
    for (const d of this.rebased.values()) {
      if (acknowledgements && d.base !== undefined)
        acknowledged.push({
          collection: d.collection,
          id: d.id,
          hlc: d.hlc,
          rev: d.base.rev,
          changeId: d.base.changeId,
        });
      else documents.push(d);
    }
    return {
      documents,
      outboxDelete: [...this.deletes],
      outboxPut: [...this.puts.values()],
      sync,
      ...(acknowledged.length > 0 ? { acknowledged } : {}),
    };
  }
}

/** Outbox entries by document key, in the order given, leaving out `deleted` seqs. */
export function groupByDoc(
  entries: readonly OutboxEntry[],
  deleted: ReadonlySet<number> = new Set(),
): Map<string, OutboxEntry[]> {
  const out = new Map<string, OutboxEntry[]>();
  for (const e of entries) {
    if (deleted.has(e.seq)) continue;
    const k = docKey(e);
    const list = out.get(k);
    if (list) list.push(e);
    else out.set(k, [e]);
  }
  return out;
}

/**
 * Plans applying one pulled batch: documents, outbox and the new checkpoint in one commit. On a newer epoch the
 * reset comes first, then the batch (which then starts from the new epoch's beginning).
 */
export async function planPull(
  ctx: PlanContext,
  records: PlanRecords,
  response: PullResponse,
  now: number,
): Promise<PlannedCommit> {
  const b = new CommitBuilder();
  const docs = new Map(records.documents);
  let entries = records.entries;
  const sync = records.sync;
  const reset = epochMoved(sync, response.epoch, response.reset);
  if (reset) {
    const all = records.all ?? { documents: [], entries: [] };
    const r = planReset(response.epoch, all.documents, all.entries);
    for (const d of r.documents) {
      b.doc(d);
      docs.set(docKey(d), d);
    }
    b.dropByDelete(r.dropped);
    const dropped = new Set(r.dropped.map((e) => e.seq));
    entries = all.entries.filter((e) => !dropped.has(e.seq));
  } else if (sync.epoch === 0) {
    // First contact: changes queued before it hold nothing deleted, so they join the server's epoch. The store keeps
    // them at epoch 0, which from this commit on reads as that epoch ({@link atEpoch}): a push of one that lands
    // without its answer is still dropped by a later delete, never sent again under the next epoch.
    entries = atEpoch(entries, response.epoch);
  }
  const pending = groupByDoc(entries);
  let awaiting = sync.awaitingSchema ?? 0;
  for (const server of response.documents) {
    const k = docKey(server);
    const seen = ctx.schema.adapt(server);
    if (seen.kind === "newer") {
      // Written by a newer app version: leave the device's copy alone and take it after the app is updated.
      awaiting = Math.max(awaiting, seen.schemaVersion);
      continue;
    }
    const plan = await reconcile(ctx, docs.get(k), pending.get(k) ?? [], seen.document, seen.migrated);
    b.doc(plan.document);
    docs.set(k, plan.document);
    b.drop(plan.outboxDelete);
    for (const e of plan.outboxPut) b.put(e);
    if (plan.acked !== undefined) b.ack(server, plan.acked);
    pending.set(k, [...plan.outboxPut]);
    if (plan.changed) b.changed.push(plan.document);
  }
  const next: Partial<SyncState> = {
    epoch: response.epoch,
    checkpoint: response.checkpoint,
    hlc: ctx.clock.current,
    lastPullAt: now,
    ...(sync.clockOffset === undefined ? {} : { clockOffset: sync.clockOffset }),
    ...(awaiting > 0 ? { awaitingSchema: awaiting } : {}),
  };
  return { commit: b.build(next), changed: b.changed, reset, ...b.outcomes() };
}

/**
 * Plans a local write: coalesced into the document's queued entry of the same epoch, or a new entry (after an
 * in-flight one, or after one from an older epoch).
 */
export function planLocalWrite(
  ctx: Pick<PlanContext, "clock" | "epoch" | "newChangeId" | "nextSeq">,
  key: DocumentKey,
  data: JsonObject | null,
  local: LocalDocument | undefined,
  entries: readonly OutboxEntry[],
  inFlight: ReadonlySet<number>,
  kind?: WriteKind,
): { document: LocalDocument; entry: OutboxEntry; replaces?: number } {
  const hlc = ctx.clock.tick();
  const document: LocalDocument = { ...local, collection: key.collection, id: key.id, data, hlc };
  // Coalesce into the queued entry of the same epoch only: a change made before this device learned of a delete must
  // stay apart from one made after, so the server can refuse the one and take the other.
  const queued = entries.findLast((e) => !inFlight.has(e.seq) && e.epoch === ctx.epoch);
  // A default stays one only while no edit of the document waits to be sent: after the user's own edit (a delete, say)
  // the app's default is part of what the user did, and must reach the server as an edit.
  const isDefault = kind === "default" && entries.every((e) => e.kind === "default");
  const entry: OutboxEntry = {
    seq: queued?.seq ?? ctx.nextSeq(),
    collection: key.collection,
    id: key.id,
    data,
    hlc,
    changeId: ctx.newChangeId(),
    epoch: ctx.epoch,
    ...(isDefault ? { kind: "default" as const } : {}),
  };
  return queued === undefined ? { document, entry } : { document, entry, replaces: queued.seq };
}
