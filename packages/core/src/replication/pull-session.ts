import type { Checkpoint } from "../protocol.js";

/**
 * One pull, decided in one place, as push-session.ts is for a push: a pure reducer the runner executes. Pages are
 * pipelined one ahead: as soon as a page's answer is in, the next is asked for from that page's checkpoint (the
 * server reads it while the device commits this one), and pages are committed in order. Nothing more is asked once a
 * page moved the epoch, a page failed, or the runner says it may not continue (the machine left `pulling`, restores are
 * no longer allowed). The first page may be one a live hint carried, which needs no request.
 */

/** What a page's answer said, as far as the pull goes. */
export type PageAnswer =
  | { readonly ok: true; readonly more: boolean; readonly reset: boolean; readonly checkpoint: Checkpoint }
  | { readonly ok: false };

export interface PullSession {
  /** The page asked for and not yet answered. */
  readonly asked?: number;
  /** The page being committed, and what its answer said. */
  readonly committing?: { readonly id: number; readonly more: boolean };
  /** Pages asked for so far (ids are 1, 2, ...). */
  readonly pages: number;
  readonly done: boolean;
}

export type PullEvent =
  | { readonly type: "answered"; readonly id: number; readonly answer: PageAnswer }
  /** A page committed; `stale` when it was of an epoch the device has left, and so not committed. */
  | { readonly type: "committed"; readonly id: number; readonly stale: boolean };

export type PullEffect =
  /** Ask the server for page `id` from `checkpoint`. */
  | { readonly type: "ask"; readonly id: number; readonly checkpoint: Checkpoint }
  /** Take the page a live hint carried as page `id`. */
  | { readonly type: "carried"; readonly id: number }
  | { readonly type: "commit"; readonly id: number }
  /** Over: `more` when the server holds more than was pulled (pull again), `restored` when the device caught up. */
  | { readonly type: "finish"; readonly more: boolean; readonly restored: boolean }
  | { readonly type: "fail"; readonly id: number };

export interface PullStep {
  readonly session: PullSession;
  readonly effects: readonly PullEffect[];
}

/** A new pull from `checkpoint`: its first page is the one a live hint carried, when there is one, else asked for. */
export function startPull(checkpoint: Checkpoint, carried: boolean): PullStep {
  return {
    session: { asked: 1, pages: 1, done: false },
    effects: [carried ? { type: "carried", id: 1 } : { type: "ask", id: 1, checkpoint }],
  };
}

/** The session after `event`, and what to do next; `mayContinue` is the runner's word on asking for more. */
export function stepPull(session: PullSession, event: PullEvent, mayContinue: boolean): PullStep {
  if (session.done) return { session, effects: [] };
  if (event.type === "answered") {
    if (event.id !== session.asked) return { session, effects: [] };
    const { asked: _, ...rest } = session;
    if (!event.answer.ok)
      return { session: { ...rest, done: true }, effects: [{ type: "fail", id: event.id }] };
    const { more, reset, checkpoint } = event.answer;
    const effects: PullEffect[] = [];
    let next: PullSession = { ...rest, committing: { id: event.id, more } };
    // The next page is asked for before this one is committed, unless the epoch moved (everything is rebased first).
    if (more && !reset && mayContinue) {
      const id = session.pages + 1;
      next = { ...next, asked: id, pages: id };
      effects.push({ type: "ask", id, checkpoint });
    }
    effects.push({ type: "commit", id: event.id });
    return { session: next, effects };
  }
  if (event.id !== session.committing?.id) return { session, effects: [] };
  const { committing, ...rest } = session;
  const over = (more: boolean, restored: boolean): PullStep => ({
    session: { ...rest, done: true },
    effects: [{ type: "finish", more, restored }],
  });
  // A page of a backup the device has left: pull again from where it is.
  if (event.stale) return over(true, false);
  if (!committing.more) return over(false, true);
  if (rest.asked === undefined || !mayContinue) return over(true, false);
  return { session: rest, effects: [] };
}
