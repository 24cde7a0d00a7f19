// What a push's answer means for the store, and how a batch is picked and put in its wire form.
import jsonPatch from "fast-json-patch";
import { jsonEqual } from "../json.js";
import type { DocumentKey, LocalDocument, OutboxEntry, SyncState } from "../ports.js";
import type { PushChange, PushResponse, PushResult } from "../protocol.js";
import {
  CommitBuilder,
  docKey,
  epochMoved,
  groupByDoc,
  type PlannedCommit,
  type PlanRecords,
} from "./plans.js";
import { type PlanContext, planReset, reconcile } from "./reconcile.js";

/** Options for building a push. */
export interface BatchOptions {
  readonly maxChanges: number;
  /** Send an RFC 6902 patch instead of the document when it is smaller. */
  readonly deltas: boolean;
}

/**
 * Picks the next batch: the oldest entries, at most one per document (a document's later entry waits for the
 * earlier one's answer, which keeps changes to a document in order), skipping entries the server refused for good.
 */
export function pickBatch(entries: readonly OutboxEntry[], max: number): OutboxEntry[] {
  const seen = new Set<string>();
  const out: OutboxEntry[] = [];
  for (const e of entries) {
    const k = docKey(e);
    if (seen.has(k)) continue;
    seen.add(k);
    if (e.rejected !== undefined) continue;
    out.push(e);
    if (out.length >= max) break;
  }
  return out;
}

/** The wire form of an entry: against the last server state the device saw, as a patch when that is smaller. */
export function toPushChange(
  entry: OutboxEntry,
  doc: LocalDocument | undefined,
  deltas: boolean,
  schemaVersion = 1,
): PushChange {
  const base = doc?.base;
  const common = {
    collection: entry.collection,
    id: entry.id,
    changeId: entry.changeId,
    epoch: entry.epoch,
    baseRev: base?.rev ?? 0,
    hlc: entry.hlc,
    ...(schemaVersion === 1 ? {} : { schemaVersion }),
  };
  // A default goes whole: it is stored only where the server has no document to patch.
  if (entry.kind === "default") return { ...common, data: entry.data, kind: "default" };
  // A patch applies to the server's bytes: not on a base this device migrated.
  if (deltas && !entry.fullDocument && !base?.migrated && base?.data != null && entry.data !== null) {
    const patch = jsonPatch.compare(base.data, entry.data) as PushChange["patch"] & object;
    if (JSON.stringify(patch).length < JSON.stringify(entry.data).length) return { ...common, patch };
  }
  return { ...common, data: entry.data };
}

/**
 * When the push's accepted changes are the very next ones in the app's feed after this device's checkpoint, nothing
 * else happened in between: the checkpoint moves past them, so the device does not pull its own changes back (the
 * live hint of its own push is then already seen).
 */
function ownWritesCheckpoint(
  sync: SyncState,
  response: PushResponse,
  sent: ReadonlyMap<string, OutboxEntry>,
  docs: ReadonlyMap<string, LocalDocument>,
  pending: ReadonlyMap<string, readonly OutboxEntry[]>,
): Partial<SyncState> {
  const cp = sync.checkpoint;
  if (cp.epoch !== response.epoch || sync.epoch !== response.epoch) return {};
  const seqs: number[] = [];
  for (const r of response.results) {
    if (r.status !== "accepted") continue;
    const entry = sent.get(r.changeId);
    if (entry === undefined) continue;
    // The device must hold what the server now has, or still have a change of it to send: a local state that went
    // its own way (a later change superseded by a delete) is set right by pulling the document.
    const k = docKey(entry);
    const local = docs.get(k);
    if (!(pending.get(k)?.length || (local !== undefined && jsonEqual(local.data, entry.data)))) return {};
    seqs.push(r.seq);
  }
  if (seqs.length === 0) return {};
  seqs.sort((a, b) => a - b);
  for (let i = 0; i < seqs.length; i++) if (seqs[i] !== cp.seq + 1 + i) return {};
  return { checkpoint: { epoch: cp.epoch, seq: cp.seq + seqs.length } };
}

/**
 * The documents of a push's answer whose queued changes its plan must read: those whose change the server did not
 * accept (a conflict or refusal is settled against them), and those the device no longer holds as sent. An accepted
 * change whose document still holds that very write (same HLC) has no other queued change: a batch takes each
 * document's oldest change, and a later write would have given the document its own HLC. On IndexedDB, reading the
 * entries of every document in the batch was a lookup per document, a fifth of a push in Chromium.
 */
export function documentsNeedingEntries(
  sent: readonly OutboxEntry[],
  response: PushResponse,
  documents: ReadonlyMap<string, LocalDocument>,
): DocumentKey[] {
  const byChange = new Map(sent.map((e) => [e.changeId, e]));
  const settled = new Set<string>();
  for (const r of response.results) {
    const entry = byChange.get(r.changeId);
    if (entry === undefined || r.status !== "accepted") continue;
    if (documents.get(docKey(entry))?.hlc === entry.hlc) settled.add(entry.changeId);
  }
  return sent.filter((e) => !settled.has(e.changeId));
}

/** What planning one push answer builds up, result by result. */
interface PushPlanning {
  readonly ctx: PlanContext;
  readonly b: CommitBuilder;
  readonly docs: Map<string, LocalDocument>;
  readonly pending: Map<string, OutboxEntry[]>;
  readonly rejected: PushResult[];
  pullNeeded: boolean;
  awaiting: number;
}

/** One result of the answer, with the sent change it answers and what the device holds of its document. */
interface Answered<R extends PushResult = PushResult> {
  readonly result: R;
  readonly entry: OutboxEntry;
  readonly k: string;
  readonly local: LocalDocument | undefined;
  /**
   * Another tab's engine, which cannot know what this one has in flight, may have written the document into the sent
   * entry's place (same seq, another change): that later change stays queued, whatever the answer.
   */
  readonly superseded: boolean;
}

type Accepted = Extract<PushResult, { status: "accepted" }>;
type Rejected = Extract<PushResult, { status: "rejected" }>;
type Conflict = Extract<PushResult, { status: "conflict" }>;

/** The sent change leaves the document's queue. */
function unqueue(p: PushPlanning, k: string, seq: number): void {
  p.pending.set(
    k,
    (p.pending.get(k) ?? []).filter((e) => e.seq !== seq),
  );
}

/** Committed: acknowledged, out of the queue (unless superseded), and the server's state is the document's base. */
function accepted(p: PushPlanning, { result, entry, k, local, superseded }: Answered<Accepted>): void {
  p.b.ack(entry, entry.seq);
  if (!superseded) {
    p.b.drop([entry.seq]);
    unqueue(p, k, entry.seq);
  }
  // When the document still holds the accepted write (same HLC), its base is that same object: a store that keeps
  // object identity (IndexedDB's structured clone) then writes, keeps and reads the data once, not twice.
  const holds = local !== undefined && local.hlc === entry.hlc;
  const data = holds ? local.data : entry.data;
  const base = { rev: result.rev, data, hlc: entry.hlc, changeId: entry.changeId };
  const doc: LocalDocument =
    local === undefined
      ? { collection: entry.collection, id: entry.id, data: entry.data, hlc: entry.hlc, base }
      : { ...local, base };
  // Still the write acknowledged: only its base changes.
  if (holds) p.b.rebase(doc);
  else p.b.doc(doc);
  p.docs.set(k, doc);
}

/** Refused for good: it waits for the document's next write (a superseding one is that write); a refused patch is resent whole. */
function rejected(p: PushPlanning, { result, entry, superseded }: Answered<Rejected>): void {
  if (superseded) return;
  p.rejected.push(result);
  p.b.put(
    result.code === "bad-patch"
      ? { ...entry, fullDocument: true }
      : { ...entry, rejected: { code: result.code, message: result.message } },
  );
}

/** An epoch conflict: the server's backup was deleted since the change was made (or the device never knew an epoch). */
function epochConflict(p: PushPlanning, { entry, k, superseded }: Answered, epoch: number): void {
  if (entry.epoch === 0) {
    // Made before this device ever heard from the server, so it holds nothing deleted: send it again under the
    // epoch the server has now. (The server refuses epoch 0 itself, so a replayed copy of this request cannot
    // land after a delete.) A superseding change stays at epoch 0, which from this commit reads as that epoch.
    if (!superseded) p.b.put({ ...entry, epoch });
    return;
  }
  // Made under an epoch the server has left behind: superseded by a delete, never to be sent again.
  p.b.dropByDelete([entry]);
  unqueue(p, k, entry.seq);
}

/** A stale conflict: the server holds another state; the collection's strategy resolves it on top of that state. */
async function staleConflict(
  p: PushPlanning,
  { result, entry, k, local }: Answered<Conflict>,
): Promise<void> {
  if (result.omitted) {
    // The server left its state out of the answer: the change stays queued, and the pull that follows settles it.
    p.pullNeeded = true;
    return;
  }
  if (result.current === undefined) {
    // The server has no such document although this device saw one: push it again as new.
    if (local?.base !== undefined) {
      const { base: _, ...rest } = local;
      p.b.doc(rest);
      p.docs.set(k, rest);
    }
    return;
  }
  const seen = p.ctx.schema.adapt(result.current);
  if (seen.kind === "newer") {
    // A newer app version wrote it: never overwrite it; try again once this app is updated.
    const message = `stored at schema ${seen.schemaVersion}, newer than this app's ${p.ctx.schema.version}`;
    p.b.put({ ...entry, rejected: { code: "upgrade-required", message } });
    p.rejected.push({ changeId: entry.changeId, status: "rejected", code: "upgrade-required", message });
    p.awaiting = Math.max(p.awaiting, seen.schemaVersion);
    return;
  }
  const plan = await reconcile(p.ctx, local, p.pending.get(k) ?? [], seen.document, seen.migrated);
  p.b.doc(plan.document);
  p.docs.set(k, plan.document);
  p.b.drop(plan.outboxDelete);
  for (const e of plan.outboxPut) p.b.put(e);
  if (plan.acked !== undefined) p.b.ack(entry, plan.acked);
  p.pending.set(k, [...plan.outboxPut]);
  if (plan.changed) p.b.changed.push(plan.document);
}

/** Plans applying a push's answer. */
export async function planPushResults(
  ctx: PlanContext,
  records: PlanRecords,
  sent: readonly OutboxEntry[],
  response: PushResponse,
  now: number,
): Promise<PlannedCommit & { readonly pullNeeded: boolean; readonly rejected: readonly PushResult[] }> {
  const bySeqOf = new Map(sent.map((e) => [e.changeId, e]));
  const sync = records.sync;
  const p: PushPlanning = {
    ctx,
    b: new CommitBuilder(),
    docs: new Map(records.documents),
    pending: groupByDoc(records.entries),
    rejected: [],
    pullNeeded: false,
    awaiting: sync.awaitingSchema ?? 0,
  };
  for (const result of response.results) {
    const entry = bySeqOf.get(result.changeId);
    if (entry === undefined) continue;
    const k = docKey(entry);
    const superseded = (p.pending.get(k) ?? []).some(
      (e) => e.seq === entry.seq && e.changeId !== entry.changeId,
    );
    const answered = { entry, k, local: p.docs.get(k), superseded };
    if (result.status === "accepted") accepted(p, { ...answered, result });
    else if (result.status === "rejected") rejected(p, { ...answered, result });
    else if (result.reason === "epoch") epochConflict(p, { ...answered, result }, response.epoch);
    else await staleConflict(p, { ...answered, result });
  }
  const { b, docs, pending } = p;
  const reset = epochMoved(sync, response.epoch, false);
  let epochFields: Partial<SyncState> = {};
  if (reset) {
    const all = records.all ?? { documents: [], entries: [] };
    const r = planReset(response.epoch, all.documents, all.entries);
    for (const d of r.documents) b.doc(d);
    b.dropByDelete(r.dropped);
    epochFields = r.sync;
  } else if (sync.epoch === 0) {
    epochFields = { epoch: response.epoch };
  }
  const next: Partial<SyncState> = {
    ...epochFields,
    ...(reset ? {} : ownWritesCheckpoint(sync, response, bySeqOf, docs, pending)),
    hlc: ctx.clock.current,
    lastPushAt: now,
    ...(sync.clockOffset === undefined ? {} : { clockOffset: sync.clockOffset }),
    ...(p.awaiting > 0 ? { awaitingSchema: p.awaiting } : {}),
  };
  return {
    commit: b.build(next, ctx.acknowledgements),
    changed: b.changed,
    reset,
    pullNeeded: reset || p.pullNeeded,
    rejected: p.rejected,
    ...b.outcomes(),
  };
}
