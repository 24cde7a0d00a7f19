import type { ErrorCode, HokanError } from "../errors.js";
import type { Decision } from "../policy.js";
import type { ReplicationState } from "./machine.js";

/** An error as status shows it. */
export interface StatusError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly retryable: boolean;
  /** When it happened (runtime clock, ms). */
  readonly at: number;
}

/**
 * Why backup or restore does not run now: a policy reason (`offline`, `roaming`, `disabled`, `no-account`,
 * `not-entitled`, `unsupported`, `capability`, `retired`, `upgrade-required`, `quota`); else the code of the error
 * that stopped replication (`unauthorized`, `forbidden`, `protocol`, `internal`, ...); else `upgrade-required` while
 * the backup holds data newer than this app reads.
 */
export type StatusReason = ErrorCode;

/**
 * An immutable snapshot of one app's replication, as shown to the app and to the settings screen. `status$` emits a
 * new snapshot only when something in it changed.
 */
export interface ReplicationStatus {
  readonly state: ReplicationState;
  /** Changes waiting for the server's acknowledgement (refused ones included). */
  readonly pending: number;
  /** Changes the server refused for good (e.g. too large); they wait for the next write to their document. */
  readonly rejected: number;
  readonly backup: Decision;
  readonly restore: Decision;
  /**
   * Why backup or restore waits or is refused ({@link StatusReason}): backup's policy reason first, then restore's,
   * then the code that stopped replication (`state: "fatal"`, or a start that failed), then data too new for this
   * app. Absent while nothing stops either.
   */
  readonly reason?: StatusReason;
  /** A request is on the wire. */
  readonly inFlight: boolean;
  readonly lastPullAt?: number;
  readonly lastPushAt?: number;
  /** The latest failure; cleared by the next success. */
  readonly lastError?: StatusError;
  /** The app's epoch as last learned from the server. */
  readonly epoch: number;
  /** Writes wait for this device's first restore (the restore-before-write guard). */
  readonly awaitingRestore?: boolean;
  /**
   * Changes dropped because the app's backup was deleted before they reached the server (since this replication
   * started; absent while none): they left `pending` without being acknowledged. `dropped$` names them.
   */
  readonly dropped?: number;
  /**
   * Documents the server's answers changed on this device since this replication started (pull pages, and live hints
   * that carried documents); absent while none. While a restore runs, its progress: documents so far.
   */
  readonly received?: number;
}

/**
 * The reason a status reports: backup's policy reason first, then restore's, then `stopped` (the code of a fatal
 * error or a failed start), then `standing` (a condition that stops part of the data, as data too new to read).
 */
export function statusReason(
  backup: Decision,
  restore: Decision,
  stopped?: ErrorCode,
  standing?: ErrorCode,
): StatusReason | undefined {
  if (backup.kind !== "allowed") return backup.reason;
  if (restore.kind !== "allowed") return restore.reason;
  return stopped ?? standing;
}

/** An error as status shows it. */
export function statusError(e: HokanError, at: number): StatusError {
  return { code: e.code, message: e.message, retryable: e.retryable, at };
}

/** A change to the status: each field given replaces the old one, and `undefined` removes it. */
export type StatusPatch = Partial<{
  -readonly [K in keyof ReplicationStatus]: ReplicationStatus[K] | undefined;
}>;

/** What the status says beyond its own fields: the machine's state and what stops the replication. */
export interface StatusFacts {
  readonly state: ReplicationState;
  /** The code of the fatal error, when the machine is `fatal`. */
  readonly fatalCode?: ErrorCode | undefined;
  /** The schema the backup holds data of, when newer than the app reads. */
  readonly awaitingSchema?: number | undefined;
  readonly schemaVersion: number;
  /** Why the last start failed, until a start succeeds. */
  readonly startFailure?: ErrorCode | undefined;
}

/**
 * The status after `patch`, as a pure function of the one before and the facts: fields merged (`undefined` removes
 * one), the state the machine is in, no request in flight outside `pulling` and `pushing`, and the reason derived
 * ({@link statusReason}; a failed start, which decided no policy, first).
 */
export function deriveStatus(
  prev: ReplicationStatus,
  patch: StatusPatch,
  facts: StatusFacts,
): ReplicationStatus {
  const merged: Record<string, unknown> = { ...prev, ...patch, state: facts.state };
  if (facts.state !== "pulling" && facts.state !== "pushing") merged.inFlight = false;
  delete merged.reason;
  for (const k of Object.keys(merged)) if (merged[k] === undefined) delete merged[k];
  const next = merged as unknown as ReplicationStatus;
  const stopped = facts.state === "fatal" ? facts.fatalCode : undefined;
  const standing =
    facts.awaitingSchema !== undefined && facts.awaitingSchema > facts.schemaVersion
      ? "upgrade-required"
      : undefined;
  const reason = facts.startFailure ?? statusReason(next.backup, next.restore, stopped, standing);
  return reason === undefined ? next : { ...next, reason };
}
