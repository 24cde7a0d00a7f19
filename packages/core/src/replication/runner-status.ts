// The status snapshot: merged, its reason derived, emitted only when it says something new.
import { jsonEqual } from "../json.js";
import type { ReplicationRunner } from "./replication.js";
import { type ReplicationStatus, statusReason } from "./status.js";

/** Whether the replication is at rest: idle, fatal or stopped, with no debounced write waiting. */
export function isIdle(r: ReplicationRunner): boolean {
  // A write waiting out its debounce is about to be pushed: not at rest yet.
  if (r.debounceTimer !== undefined && r.state !== "stopped") return false;
  return r.state === "idle" || r.state === "fatal" || r.state === "stopped";
}

/** Merges `patch` into the status, derives its reason, and emits it when it says something new. */
export function publish(
  r: ReplicationRunner,
  patch: Partial<{ -readonly [K in keyof ReplicationStatus]: ReplicationStatus[K] | undefined }>,
): void {
  const prev = r.statusSubject.value;
  const merged: Record<string, unknown> = { ...prev, ...patch, state: r.state };
  if (r.state !== "pulling" && r.state !== "pushing") merged.inFlight = false;
  delete merged.reason;
  for (const k of Object.keys(merged)) if (merged[k] === undefined) delete merged[k];
  const next = merged as unknown as ReplicationStatus;
  const stopped = r.state === "fatal" ? r.context.fatalCode : undefined;
  const awaiting = r.space.current?.awaitingSchema;
  const standing = awaiting !== undefined && awaiting > r.schema.version ? "upgrade-required" : undefined;
  // A start that failed decided no policy: its reason comes first.
  const reason = r.startFailure ?? statusReason(next.backup, next.restore, stopped, standing);
  const status: ReplicationStatus = reason === undefined ? next : { ...next, reason };
  // Only a snapshot that says something new is emitted.
  if (!jsonEqual(prev as never, status as never)) r.statusSubject.next(status);
  r.waiters.check();
}
