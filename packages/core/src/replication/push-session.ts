import type { Checkpoint, PushResponse } from "../protocol.js";

/**
 * One push, decided in one place: which batch goes out next, which answer is committed next, when the push is over.
 * A pure reducer, as `machine.ts` is for the replication: the runner turns its effects into store and transport work
 * and feeds what came of them back as events. The machine decides *when* to push; this decides everything inside.
 *
 * A push fills a window of up to `lanes` batches, then commits their answers one at a time in the order the server
 * applied them (it does not always apply them in the order they were sent), filling again after each. Once a batch
 * has gone out, nothing new is sent after a failure, a needed pull, or when the runner says it may not continue
 * (the machine left `pushing`, backup is no longer allowed, a live hint of another device is held); the answers
 * already on their way are still committed. It finishes when nothing is in flight.
 */

/** What an answer said, as far as the order of commits goes. */
export type BatchAnswer =
  /** Committed by the server: `firstSeq` is the lowest feed position it took (infinity when it took none). */
  { readonly ok: true; readonly epoch: number; readonly firstSeq: number } | { readonly ok: false };

/** A batch sent and not yet committed. */
export interface SessionBatch {
  readonly id: number;
  readonly answer?: BatchAnswer;
}

export interface PushSession {
  /** Most batches in flight at once. */
  readonly lanes: number;
  /** Sent and not yet committed, in the order they were sent. */
  readonly window: readonly SessionBatch[];
  /** A batch is being prepared (read from the outbox). */
  readonly preparing: boolean;
  /** Preparing batches until the window is full or there is nothing more to send: answers wait meanwhile. */
  readonly filling: boolean;
  /** The answer being committed. */
  readonly committing: number | undefined;
  /** Whether a batch was prepared yet: the first goes out whatever happened since the machine asked. */
  readonly started: boolean;
  /** A request failed: nothing new is sent, and the push fails once the window is empty. */
  readonly failed: boolean;
  /** An answer showed the server holds changes this device has not pulled. */
  readonly pullNeeded: boolean;
  /**
   * The highest feed position of a live hint that came while batches were in flight: most likely this device's own
   * push, known only once an answer's commit takes the checkpoint past it. Until then nothing new goes out.
   */
  readonly held: number | undefined;
  readonly done: boolean;
}

export type PushEvent =
  /** The batch read from the outbox (`undefined`: nothing could be sent now). */
  | { readonly type: "prepared"; readonly id?: number }
  | { readonly type: "answered"; readonly id: number; readonly answer: BatchAnswer }
  /** An answer committed (or a failure recorded): `pullNeeded` when it showed others' changes. */
  | { readonly type: "committed"; readonly id: number; readonly pullNeeded: boolean }
  /** A live hint of a change after the checkpoint, while batches are in flight. */
  | { readonly type: "hint"; readonly seq: number };

export type PushEffect =
  | { readonly type: "prepare" }
  | { readonly type: "send"; readonly id: number }
  | { readonly type: "commit"; readonly id: number }
  /**
   * Nothing in flight: the push is over. `hinted`: a held hint no answer explained, which is another device's change
   * to pull.
   */
  | {
      readonly type: "finish";
      readonly failed: boolean;
      readonly pullNeeded: boolean;
      readonly hinted: boolean;
    };

/** What the runner knows that the session does not: whether it may go on sending, and where the device's feed is. */
export interface PushEnvironment {
  readonly mayContinue: boolean;
  readonly checkpoint: Checkpoint | undefined;
}

export interface PushStep {
  readonly session: PushSession;
  readonly effects: readonly PushEffect[];
}

/** A new push: it prepares its first batch. */
export function startPush(lanes: number): PushStep {
  return {
    session: {
      lanes: Math.max(1, lanes),
      window: [],
      committing: undefined,
      preparing: true,
      filling: true,
      started: false,
      failed: false,
      pullNeeded: false,
      held: undefined,
      done: false,
    },
    effects: [{ type: "prepare" }],
  };
}

/** The session after `event`, and what to do next. */
export function stepPush(session: PushSession, event: PushEvent, env: PushEnvironment): PushStep {
  if (session.done) return { session, effects: [] };
  switch (event.type) {
    case "prepared": {
      const window = event.id === undefined ? session.window : [...session.window, { id: event.id }];
      const next = { ...session, window, preparing: false, started: true, filling: event.id !== undefined };
      const effects: PushEffect[] = event.id === undefined ? [] : [{ type: "send", id: event.id }];
      return advance(next, env, effects);
    }
    case "answered": {
      const window = session.window.map((b) => (b.id === event.id ? { ...b, answer: event.answer } : b));
      return advance({ ...session, window }, env, []);
    }
    case "hint":
      return { session: { ...session, held: Math.max(session.held ?? 0, event.seq) }, effects: [] };
    case "committed": {
      const batch = session.window.find((b) => b.id === event.id);
      const next: PushSession = {
        ...session,
        window: session.window.filter((b) => b.id !== event.id),
        committing: undefined,
        filling: true,
        failed: session.failed || batch?.answer?.ok === false,
        pullNeeded: session.pullNeeded || event.pullNeeded,
      };
      return advance(next, env, []);
    }
  }
}

/** Whether a held hint is still unexplained at `checkpoint` (no answer took the device's feed past it). */
export function hintHeld(session: PushSession, checkpoint: Checkpoint | undefined): boolean {
  return session.held !== undefined && (checkpoint?.seq ?? 0) < session.held;
}

/** Whether another batch may be prepared now. */
function mayPrepare(session: PushSession, env: PushEnvironment): boolean {
  return (
    session.window.length < session.lanes &&
    (!session.started ||
      (!session.failed && !session.pullNeeded && env.mayContinue && !hintHeld(session, env.checkpoint)))
  );
}

function advance(session: PushSession, env: PushEnvironment, effects: PushEffect[]): PushStep {
  // A held hint the checkpoint has passed was this device's own push: forgotten.
  if (session.held !== undefined && !hintHeld(session, env.checkpoint))
    session = { ...session, held: undefined };
  if (session.preparing || session.committing !== undefined) return { session, effects };
  if (session.filling) {
    if (mayPrepare(session, env))
      return { session: { ...session, preparing: true }, effects: [...effects, { type: "prepare" }] };
    session = { ...session, filling: false };
  }
  if (session.window.length === 0) {
    return {
      session: { ...session, done: true },
      effects: [
        ...effects,
        {
          type: "finish",
          failed: session.failed,
          pullNeeded: session.pullNeeded,
          hinted: hintHeld(session, env.checkpoint),
        },
      ],
    };
  }
  const head = nextToCommit(session.window, env.checkpoint);
  if (head === undefined) return { session, effects };
  return {
    session: { ...session, committing: head.id },
    effects: [...effects, { type: "commit", id: head.id }],
  };
}

/**
 * The answered batch to commit next: a failure, or the one the server applied first. It waits while a batch still in
 * flight may have been applied before it, so that the checkpoint can move past each in turn.
 */
export function nextToCommit(
  window: readonly SessionBatch[],
  checkpoint: Checkpoint | undefined,
): SessionBatch | undefined {
  let best: SessionBatch | undefined;
  let bestSeq = Number.POSITIVE_INFINITY;
  let bestEpoch = 0;
  for (const b of window) {
    const answer = b.answer;
    if (!answer) continue;
    if (!answer.ok || answer.firstSeq === Number.POSITIVE_INFINITY) return b;
    if (answer.firstSeq < bestSeq) {
      best = b;
      bestSeq = answer.firstSeq;
      bestEpoch = answer.epoch;
    }
  }
  if (!best) return undefined;
  const gap = checkpoint !== undefined && bestEpoch === checkpoint.epoch && bestSeq > checkpoint.seq + 1;
  return gap && window.some((b) => !b.answer) ? undefined : best;
}

/** What an answer says for the order of commits: the lowest feed position the push took. */
export function batchAnswer(response: PushResponse): BatchAnswer {
  let firstSeq = Number.POSITIVE_INFINITY;
  for (const r of response.results) if (r.status === "accepted" && r.seq < firstSeq) firstSeq = r.seq;
  return { ok: true, epoch: response.epoch, firstSeq };
}
