import type { ErrorCode } from "../errors.js";

/**
 * The replication state machine: pure, with every state × event decided in {@link TRANSITIONS} (TypeScript refuses
 * the table if a cell is missing). The runner performs the effects and feeds results back as events.
 * `packages/core/SPEC.md` explains each cell.
 */

/** Where replication of one app is. */
export type ReplicationState = "stopped" | "idle" | "pulling" | "pushing" | "backoff" | "fatal";

/** What the machine remembers between events. */
export interface MachineContext {
  /** The server may have documents this device has not pulled. */
  readonly needPull: boolean;
  /** The outbox may have changes to push. */
  readonly needPush: boolean;
  readonly backupAllowed: boolean;
  readonly restoreAllowed: boolean;
  /** Consecutive retryable failures; drives the backoff delay. */
  readonly attempt: number;
  /** The policy inputs version when a fatal error happened; a newer one lifts it. */
  readonly fatalAt: number;
  /** The latest policy inputs version seen. */
  readonly inputsVersion: number;
  readonly fatalCode?: ErrorCode;
}

/** Everything that happens to replication. */
export type MachineEvent =
  | { readonly type: "start" }
  | { readonly type: "stop" }
  | {
      readonly type: "policy";
      readonly backupAllowed: boolean;
      readonly restoreAllowed: boolean;
      readonly inputsVersion: number;
    }
  | { readonly type: "local-change" }
  | { readonly type: "remote-change" }
  | { readonly type: "pull-done"; readonly more: boolean }
  | { readonly type: "push-done"; readonly more: boolean; readonly pullNeeded: boolean }
  | {
      readonly type: "failed";
      readonly code: ErrorCode;
      readonly retryable: boolean;
      /** The policy inputs the failed request was made under; newer inputs make a final refusal worth a retry. */
      readonly inputsVersion?: number;
    }
  | { readonly type: "retry-due" };

/** What the runner must do. */
export type MachineEffect =
  | { readonly type: "pull" }
  | { readonly type: "push" }
  | { readonly type: "schedule-retry"; readonly attempt: number }
  | { readonly type: "cancel-retry" };

/** One transition's outcome. */
export interface Step {
  readonly state: ReplicationState;
  readonly context: MachineContext;
  readonly effects: readonly MachineEffect[];
}

/** The event of one type. */
export type EventOf<T extends MachineEvent["type"]> = Extract<MachineEvent, { type: T }>;
/** What one state does on one event. */
export type Cell<T extends MachineEvent["type"]> = (context: MachineContext, event: EventOf<T>) => Step;
/** What one state does on every event: a row of {@link TRANSITIONS}. */
export type Row = { readonly [T in MachineEvent["type"]]: Cell<T> };

/** The context a new machine starts with. */
export const INITIAL_CONTEXT: MachineContext = {
  needPull: true,
  needPush: true,
  backupAllowed: false,
  restoreAllowed: false,
  attempt: 0,
  fatalAt: -1,
  inputsVersion: 0,
};

const stay =
  (state: ReplicationState) =>
  (context: MachineContext): Step => ({ state, context, effects: [] });

/** From a resting point: pull first (the server's state is the base of every push), then push, else rest. */
function settle(context: MachineContext, extra: readonly MachineEffect[] = []): Step {
  if (context.needPull && context.restoreAllowed) {
    return {
      state: "pulling",
      context: { ...context, needPull: false },
      effects: [...extra, { type: "pull" }],
    };
  }
  if (context.needPush && context.backupAllowed) {
    return {
      state: "pushing",
      context: { ...context, needPush: false },
      effects: [...extra, { type: "push" }],
    };
  }
  return { state: "idle", context, effects: extra };
}

function withPolicy(context: MachineContext, e: EventOf<"policy">): MachineContext {
  return {
    ...context,
    backupAllowed: e.backupAllowed,
    restoreAllowed: e.restoreAllowed,
    inputsVersion: e.inputsVersion,
  };
}

const markPull = (c: MachineContext): MachineContext => ({ ...c, needPull: true });
const markPush = (c: MachineContext): MachineContext => ({ ...c, needPush: true });

/** A failure while pulling or pushing: retry later, or stop until an input changes. */
function failure(
  context: MachineContext,
  e: EventOf<"failed">,
  retryNeed: (c: MachineContext) => MachineContext,
): Step {
  const c = retryNeed(context);
  // A refusal of a request made before an input changed (say, the app was upgraded meanwhile, or the registry now
  // says why) says nothing about the new inputs: decide again under them at once — send again if they allow it, rest
  // if they deny it — rather than stop or wait out a backoff. A second refusal is under the new inputs, and final.
  const stale = e.inputsVersion !== undefined && e.inputsVersion !== c.inputsVersion;
  if (!e.retryable && stale) return settle(c);
  if (!e.retryable) {
    return {
      state: "fatal",
      context: { ...c, attempt: 0, fatalAt: c.inputsVersion, fatalCode: e.code },
      effects: [],
    };
  }
  const attempt = c.attempt + 1;
  return { state: "backoff", context: { ...c, attempt }, effects: [{ type: "schedule-retry", attempt }] };
}

const toStopped = (context: MachineContext): Step => ({ state: "stopped", context, effects: [] });

/** Every state × event. */
export const TRANSITIONS: { readonly [S in ReplicationState]: Row } = {
  stopped: {
    start: (c) => settle({ ...c, needPull: true, needPush: true, attempt: 0 }),
    stop: stay("stopped"),
    policy: (c, e) => stay("stopped")(withPolicy(c, e)),
    "local-change": (c) => stay("stopped")(markPush(c)),
    "remote-change": (c) => stay("stopped")(markPull(c)),
    "pull-done": stay("stopped"),
    "push-done": stay("stopped"),
    failed: stay("stopped"),
    "retry-due": stay("stopped"),
  },
  idle: {
    start: stay("idle"),
    stop: toStopped,
    policy: (c, e) => settle(withPolicy(c, e)),
    "local-change": (c) => settle(markPush(c)),
    "remote-change": (c) => settle(markPull(c)),
    "pull-done": stay("idle"),
    "push-done": stay("idle"),
    failed: stay("idle"),
    "retry-due": stay("idle"),
  },
  pulling: {
    start: stay("pulling"),
    stop: (c) => toStopped(markPull(c)),
    policy: (c, e) => stay("pulling")(withPolicy(c, e)),
    "local-change": (c) => stay("pulling")(markPush(c)),
    "remote-change": (c) => stay("pulling")(markPull(c)),
    "pull-done": (c, e) => settle({ ...c, needPull: c.needPull || e.more, attempt: 0 }),
    "push-done": stay("pulling"),
    failed: (c, e) => failure(c, e, markPull),
    "retry-due": stay("pulling"),
  },
  pushing: {
    start: stay("pushing"),
    stop: (c) => toStopped(markPush(c)),
    policy: (c, e) => stay("pushing")(withPolicy(c, e)),
    "local-change": (c) => stay("pushing")(markPush(c)),
    "remote-change": (c) => stay("pushing")(markPull(c)),
    "push-done": (c, e) =>
      settle({ ...c, needPush: c.needPush || e.more, needPull: c.needPull || e.pullNeeded, attempt: 0 }),
    "pull-done": stay("pushing"),
    failed: (c, e) => failure(c, e, markPush),
    "retry-due": stay("pushing"),
  },
  backoff: {
    start: stay("backoff"),
    stop: (c) => ({ state: "stopped", context: c, effects: [{ type: "cancel-retry" }] }),
    // A policy change (say, back online) is a reason to try at once rather than wait out the delay.
    policy: (c, e) => {
      const next = withPolicy(c, e);
      const opened = (e.backupAllowed && !c.backupAllowed) || (e.restoreAllowed && !c.restoreAllowed);
      return opened ? settle(next, [{ type: "cancel-retry" }]) : stay("backoff")(next);
    },
    "local-change": (c) => stay("backoff")(markPush(c)),
    "remote-change": (c) => stay("backoff")(markPull(c)),
    "pull-done": stay("backoff"),
    "push-done": stay("backoff"),
    failed: stay("backoff"),
    "retry-due": (c) => settle(c),
  },
  fatal: {
    start: stay("fatal"),
    stop: toStopped,
    policy: (c, e) => {
      const next = withPolicy(c, e);
      if (e.inputsVersion === c.fatalAt) return stay("fatal")(next);
      const { fatalCode: _, ...rest } = next;
      return settle({ ...rest, needPull: true, needPush: true, attempt: 0 });
    },
    "local-change": (c) => stay("fatal")(markPush(c)),
    "remote-change": (c) => stay("fatal")(markPull(c)),
    "pull-done": stay("fatal"),
    "push-done": stay("fatal"),
    failed: stay("fatal"),
    "retry-due": stay("fatal"),
  },
};

/** Applies one event. */
export function transition(state: ReplicationState, context: MachineContext, event: MachineEvent): Step {
  const cell = TRANSITIONS[state][event.type] as Cell<typeof event.type>;
  return cell(context, event as never);
}

/** Backoff options: exponential from `baseMs`, capped at `maxMs`, with jitter. */
export interface BackoffOptions {
  readonly baseMs: number;
  readonly maxMs: number;
}

/** 500 ms doubling to a 60 s cap. */
export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 60_000 };

/**
 * The delay before retry number `attempt` (1-based): exponential with a cap, then "equal jitter" (half fixed, half
 * random) so that devices failing together do not retry together, yet none retries immediately.
 */
export function backoffDelay(
  attempt: number,
  random: () => number,
  options: BackoffOptions = DEFAULT_BACKOFF,
): number {
  const exp = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}
