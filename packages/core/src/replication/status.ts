import type { ErrorCode } from "../errors.js";
import type { Decision, PolicyReason } from "../policy.js";
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
 * An immutable snapshot of one app's replication, as shown to the app and to the settings screen.
 */
export interface ReplicationStatus {
  readonly state: ReplicationState;
  /** Changes waiting for the server's acknowledgement. */
  readonly pending: number;
  /** Changes the server refused for good (e.g. too large); they wait for the next write to their document. */
  readonly rejected: number;
  readonly backup: Decision;
  readonly restore: Decision;
  /** Why backup or restore waits or is refused, backup's reason first; absent when both are allowed. */
  readonly reason?: PolicyReason;
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
}

/** The reason a status reports: backup's first, then restore's. */
export function statusReason(backup: Decision, restore: Decision): PolicyReason | undefined {
  if (backup.kind !== "allowed") return backup.reason;
  if (restore.kind !== "allowed") return restore.reason;
  return undefined;
}
