import type { OutboxEntry } from "../ports.js";
import type { PullResponse, PushChange, PushResponse } from "../protocol.js";

/**
 * Requests the runner has out: pull pages asked for ahead, push batches in a window. Each is settled as soon as it is
 * made, so an answer nobody awaits yet never becomes an unhandled rejection; what to commit next is decided in push-session.ts.
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
