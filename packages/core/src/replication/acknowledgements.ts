import { type ErrorCode, HokanError } from "../errors.js";
import type { DocumentKey, OutboxEntry } from "../ports.js";
import { docKey } from "./plans.js";

/** One document as a write left it: what {@link WriteReceipt} names. */
export interface WrittenDocument {
  readonly collection: string;
  readonly id: string;
  /**
   * The outbox entry that took the write (the store's sequence number; a later write of the document may join it). A
   * write that queued nothing (it changed nothing) names the document's latest queued change, or none
   * ({@link NOTHING_QUEUED}).
   */
  readonly seq: number;
}

/**
 * What `put`, `delete` and `bulkWrite` resolve with: the writes, for `Replication.acknowledged` to wait for. It
 * belongs to the replication (and device) that made it.
 */
export interface WriteReceipt {
  readonly writes: readonly WrittenDocument[];
  /** The epoch of the app's backup the writes were made under (0: before this device first heard of the server). */
  readonly epoch: number;
}

/** The seq of a write that queued nothing while nothing of its document was queued: acknowledged as it is. */
export const NOTHING_QUEUED = Number.MAX_SAFE_INTEGER;

/** Where one write stands. */
export type WriteVerdict =
  | { readonly kind: "pending" }
  | { readonly kind: "acknowledged" }
  | { readonly kind: "refused"; readonly code: ErrorCode; readonly message: string }
  | { readonly kind: "deleted"; readonly epoch: number };

/**
 * Judges one write against what the device knows now: the epoch, the highest seq of the document's changes the server
 * acknowledged to this replication (`acked`), and the document's queued changes (as of the epoch, in seq order).
 * Seqs only grow, and a document's queued changes go to the server one at a time, oldest first; a conflict's
 * resolution is queued anew (a higher seq) in place of every queued change of the document, from the device's state.
 *
 * - The backup was deleted since the write (the epoch moved, or a delete dropped a change of the document at the
 *   write's seq or later): the write was dropped, or is gone with the backup.
 * - The server acknowledged a change of the document at the write's seq or later: that change carried the write, a
 *   later write on top of it, or a resolution of it.
 * - Otherwise the first queued change at the write's seq or later carries it: pending, or refused with that change.
 * - Nothing carries it any more: it was answered without a change of its own being needed (the server already held
 *   the same state, or a backed-up value that a default does not replace). A change leaves the outbox only on an
 *   answer of the server or a delete of the backup, so this never comes before the server's commit.
 */
export function judgeWrite(
  write: WrittenDocument,
  writeEpoch: number,
  epoch: number,
  known: { readonly acked?: number | undefined; readonly dropped?: number | undefined },
  entries: readonly OutboxEntry[],
): WriteVerdict {
  if (writeEpoch !== 0 && epoch !== 0 && writeEpoch !== epoch) return { kind: "deleted", epoch };
  // A write made before the device first heard of the server has no epoch to compare: its change's drop tells.
  if (known.dropped !== undefined && known.dropped >= write.seq) return { kind: "deleted", epoch };
  if (known.acked !== undefined && known.acked >= write.seq) return { kind: "acknowledged" };
  const carrier = entries.find((e) => e.seq >= write.seq);
  if (carrier === undefined) return { kind: "acknowledged" };
  // A change of a later epoch is a write made after the delete that dropped this one.
  if (writeEpoch !== 0 && carrier.epoch !== 0 && carrier.epoch !== writeEpoch)
    return { kind: "deleted", epoch };
  if (carrier.rejected) {
    const code = carrier.rejected.code as ErrorCode;
    return { kind: "refused", code, message: carrier.rejected.message };
  }
  return { kind: "pending" };
}

/** One document that can never be acknowledged, and why. */
export interface UnacknowledgedWrite {
  readonly collection: string;
  readonly id: string;
  readonly code: ErrorCode;
  readonly message: string;
}

/** A wait for the writes of one receipt. */
export class AckTicket {
  readonly remaining = new Map<string, WrittenDocument>();
  readonly failures: UnacknowledgedWrite[] = [];

  constructor(readonly receipt: WriteReceipt) {
    for (const w of receipt.writes) {
      const k = docKey(w);
      const before = this.remaining.get(k);
      if (!before || before.seq < w.seq) this.remaining.set(k, w);
    }
  }

  get done(): boolean {
    return this.remaining.size === 0;
  }

  /** The outcome once done: nothing, or the error naming every write that cannot be acknowledged. */
  error(): HokanError | undefined {
    const [first, ...rest] = this.failures;
    if (!first) return undefined;
    const more = rest.length > 0 ? ` and ${rest.length} more` : "";
    return new HokanError(first.code, `${first.collection}/${first.id}: ${first.message}${more}`, {
      details: { documents: this.failures },
    });
  }
}

/**
 * The waits for writes' acknowledgements of one replication, judged after every commit that may settle them. It
 * remembers what the server acknowledged only of documents someone waits for.
 */
export class Acknowledgements {
  private readonly byDoc = new Map<string, Set<AckTicket>>();
  private readonly acked = new Map<string, number>();
  /** The highest seq a delete of the backup dropped, per document: kept for every document (deletes are rare). */
  private readonly dropped = new Map<string, number>();

  get waiting(): boolean {
    return this.byDoc.size > 0;
  }

  open(receipt: WriteReceipt): AckTicket {
    const ticket = new AckTicket(receipt);
    for (const k of ticket.remaining.keys()) {
      let set = this.byDoc.get(k);
      if (!set) {
        set = new Set();
        this.byDoc.set(k, set);
      }
      set.add(ticket);
    }
    return ticket;
  }

  close(ticket: AckTicket): void {
    for (const k of ticket.receipt.writes.map(docKey)) this.forget(ticket, k);
  }

  /** The server acknowledged this document's queued change `seq` (and so every earlier one). */
  noteAcknowledged(key: DocumentKey, seq: number): void {
    const k = docKey(key);
    if (!this.byDoc.has(k)) return;
    const before = this.acked.get(k);
    if (before === undefined || before < seq) this.acked.set(k, seq);
  }

  /** A delete of the backup dropped these queued changes. */
  noteDropped(entries: readonly OutboxEntry[]): void {
    for (const e of entries) {
      const k = docKey(e);
      this.dropped.set(k, Math.max(this.dropped.get(k) ?? 0, e.seq));
    }
  }

  /** Of these documents (all when undefined), those someone waits for. */
  waitedFor(keys?: readonly DocumentKey[]): DocumentKey[] {
    const out = new Map<string, DocumentKey>();
    if (keys === undefined) {
      for (const set of this.byDoc.values()) {
        for (const t of set) for (const [k, w] of t.remaining) out.set(k, w);
      }
    } else {
      for (const key of keys) {
        const k = docKey(key);
        if (this.byDoc.has(k)) out.set(k, { collection: key.collection, id: key.id });
      }
    }
    return [...out.values()];
  }

  /**
   * Judges the waits on `keys` given their queued changes now (as of `epoch`); returns whether one finished.
   */
  judge(keys: readonly DocumentKey[], entries: readonly OutboxEntry[], epoch: number): boolean {
    const byKey = new Map<string, OutboxEntry[]>();
    for (const e of entries) {
      const k = docKey(e);
      const list = byKey.get(k);
      if (list) list.push(e);
      else byKey.set(k, [e]);
    }
    let finished = false;
    for (const key of keys) {
      const k = docKey(key);
      for (const ticket of [...(this.byDoc.get(k) ?? [])]) {
        const write = ticket.remaining.get(k);
        if (!write) continue;
        const known = { acked: this.acked.get(k), dropped: this.dropped.get(k) };
        const verdict = judgeWrite(write, ticket.receipt.epoch, epoch, known, byKey.get(k) ?? []);
        if (verdict.kind === "pending") continue;
        if (verdict.kind === "refused") {
          ticket.failures.push({
            collection: write.collection,
            id: write.id,
            code: verdict.code,
            message: verdict.message,
          });
        } else if (verdict.kind === "deleted") {
          ticket.failures.push({
            collection: write.collection,
            id: write.id,
            code: "deleted",
            message: `dropped: the backup was deleted (now epoch ${verdict.epoch}) before this change reached the server`,
          });
        }
        ticket.remaining.delete(k);
        this.forget(ticket, k);
        finished ||= ticket.done;
      }
    }
    return finished;
  }

  private forget(ticket: AckTicket, k: string): void {
    const set = this.byDoc.get(k);
    if (!set) return;
    set.delete(ticket);
    if (set.size === 0) {
      this.byDoc.delete(k);
      this.acked.delete(k);
    }
  }
}
