// The status snapshot: merged, its reason derived, emitted only when it says something new.
import { jsonEqual } from "../json.js";
import type { ReplicationRunner } from "./replication.js";
import { deriveStatus, type StatusPatch } from "./status.js";

/** Whether the replication is at rest: idle, fatal or stopped, with no debounced write waiting. */
export function isIdle(r: ReplicationRunner): boolean {
  // A write waiting out its debounce is about to be pushed: not at rest yet.
  if (r.debounceTimer !== undefined && r.state !== "stopped") return false;
  return r.state === "idle" || r.state === "fatal" || r.state === "stopped";
}

/** Merges `patch` into the status ({@link deriveStatus}) and emits it when it says something new. */
export function publish(r: ReplicationRunner, patch: StatusPatch): void {
  const prev = r.statusSubject.value;
  const status = deriveStatus(prev, patch, {
    state: r.state,
    fatalCode: r.context.fatalCode,
    awaitingSchema: r.space.current?.awaitingSchema,
    schemaVersion: r.schema.version,
    startFailure: r.startFailure,
  });
  if (!jsonEqual(prev as never, status as never)) r.statusSubject.next(status);
  r.waiters.check();
}
