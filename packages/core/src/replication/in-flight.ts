import type { OutboxEntry } from "../ports.js";
import type { Checkpoint, PullResponse, PushChange, PushResponse } from "../protocol.js";

/**
 * Requests the runner has out: pull pages asked for ahead, push batches in a window. Each is settled as soon as it is
 * made, so an answer nobody awaits yet never becomes an unhandled rejection; what to commit next is decided here.
 */

/** What became of a request. */
export type Outcome<T> = { readonly response: T } | { readonly reason: unknown };

/** A pull page asked for; `settled` never rejects. */
export interface PageRequest {
  readonly sentAt: number;
  readonly settled: Promise<Outcome<PullResponse>>;
}

/** A push batch read from the outbox, in its wire form. */
export interface PreparedBatch {
  readonly batch: OutboxEntry[];
  readonly changes: PushChange[];
}

/** A batch sent and not yet committed; `settled` never rejects, and `outcome` is set when it resolves. */
export interface InFlightBatch extends PreparedBatch {
  readonly key: string;
  readonly sentAt: number;
  readonly settled: Promise<void>;
  readonly outcome: Outcome<PushResponse> | undefined;
}

export function trackPage(sentAt: number, answer: Promise<PullResponse>): PageRequest {
  return {
    sentAt,
    settled: answer.then(
      (response) => ({ response }),
      (reason: unknown) => ({ reason }),
    ),
  };
}

export function trackBatch(
  prepared: PreparedBatch,
  key: string,
  sentAt: number,
  answer: Promise<PushResponse>,
): InFlightBatch {
  let outcome: Outcome<PushResponse> | undefined;
  const settled = answer.then(
    (response) => {
      outcome = { response };
    },
    (reason: unknown) => {
      outcome = { reason };
    },
  );
  return {
    ...prepared,
    key,
    sentAt,
    settled,
    get outcome() {
      return outcome;
    },
  };
}

/**
 * The answered batch to commit next: a failure, or the one the server applied first. It waits while a batch still in
 * flight may have been applied before it, so that the checkpoint can move past each in turn: with more than one push
 * waiting for the app's lock, the server does not always apply them in the order they were sent.
 */
export function nextToCommit(
  window: readonly InFlightBatch[],
  checkpoint: Checkpoint | undefined,
): InFlightBatch | undefined {
  let best: InFlightBatch | undefined;
  let bestSeq = Number.POSITIVE_INFINITY;
  let bestEpoch = 0;
  for (const b of window) {
    const outcome = b.outcome;
    if (!outcome) continue;
    if ("reason" in outcome) return b;
    const first = firstSeq(outcome.response);
    if (first === Number.POSITIVE_INFINITY) return b;
    if (first < bestSeq) {
      best = b;
      bestSeq = first;
      bestEpoch = outcome.response.epoch;
    }
  }
  if (!best) return undefined;
  const gap = checkpoint !== undefined && bestEpoch === checkpoint.epoch && bestSeq > checkpoint.seq + 1;
  return gap && window.some((b) => !b.outcome) ? undefined : best;
}

/** The lowest feed position a push's answer took (nothing accepted: none, as infinity). */
function firstSeq(response: PushResponse): number {
  let min = Number.POSITIVE_INFINITY;
  for (const r of response.results) if (r.status === "accepted" && r.seq < min) min = r.seq;
  return min;
}
