// What an app waits for: a write's acknowledgement, every write's, a sync() with an honest outcome.
import { HokanError } from "../errors.js";
import type { WriteReceipt, WrittenDocument } from "./acknowledgements.js";
import type { SyncOptions, SyncResult, WaitOptions } from "./api.js";
import { judgeDocuments } from "./commits.js";
import { dispatch, retryNow } from "./drive.js";
import type { Probe, ReplicationRunner } from "./replication.js";
import { isIdle } from "./runner-status.js";
import type { StatusError, StatusReason } from "./status.js";

export async function acknowledged(
  r: ReplicationRunner,
  receipt: WriteReceipt,
  options: WaitOptions = {},
): Promise<void> {
  if (!receipt || !Array.isArray(receipt.writes)) {
    throw new HokanError(
      "bad-request",
      "acknowledged() takes what put(), delete() or bulkWrite() resolved with",
    );
  }
  const ticket = r.acks.open(receipt);
  try {
    await r.space.serial(async () => {
      await r.space.ready();
      await judgeDocuments(r, [...ticket.remaining.values()]);
    });
    const done = await r.waiters.wait(() => ticket.done, options);
    if (!done) {
      const pending = ticket.remaining.size;
      throw new HokanError(
        "timeout",
        `${pending} written documents not acknowledged within ${options.timeoutMs} ms`,
        {
          details: { pending },
        },
      );
    }
  } finally {
    r.acks.close(ticket);
  }
  const error = ticket.error();
  if (error) throw error;
}

export async function whenAcknowledged(r: ReplicationRunner, options: WaitOptions = {}): Promise<void> {
  const receipt = await r.space.serial(async () => {
    const { epoch } = await r.space.ready();
    const entries = await r.store.readOutbox(r.ns);
    const writes: WrittenDocument[] = entries.map((e) => ({
      collection: e.collection,
      id: e.id,
      seq: e.seq,
    }));
    return { writes, epoch };
  });
  await acknowledged(r, receipt, options);
}

export async function sync(r: ReplicationRunner, options: SyncOptions = {}): Promise<SyncResult> {
  await r.lifecycle.catch(() => undefined);
  if (!r.policySub) throw new HokanError("bad-request", "start() the replication before sync()");
  const bulk = options.bulk === true;
  const entry = r.registry$.value;
  if (bulk && entry && !entry.capabilities.includes("bulkBackup")) {
    return syncResult(r, "held", "capability");
  }
  if (r.status.backup.kind !== "allowed") return syncResult(r, "held", r.status.backup.reason);
  const probe: Probe = { bulk, contacted: false, failure: undefined };
  r.probes.add(probe);
  try {
    // Now, whatever the machine was waiting for: a pull (the server's answer is the check), a push of anything
    // pending (no debounce), and no backoff delay.
    if (r.debounceTimer !== undefined) {
      r.runtime.clearTimeout(r.debounceTimer);
      r.debounceTimer = undefined;
    }
    dispatch(r, { type: "remote-change" });
    dispatch(r, { type: "local-change" });
    if (r.state === "backoff") retryNow(r);
    const rested = await r.waiters.wait(() => probe.failure !== undefined || isIdle(r), options);
    const status = r.status;
    if (probe.failure) return syncResult(r, "failed", status.reason, probe.failure);
    if (!rested) return syncResult(r, "timed-out", status.reason);
    if (r.state === "fatal") return syncResult(r, "failed", status.reason, status.lastError);
    if (status.backup.kind !== "allowed") return syncResult(r, "held", status.backup.reason);
    // At rest without an answer (stopped meanwhile): not confirmed.
    if (!probe.contacted) return syncResult(r, "failed", status.reason, status.lastError);
    if (status.pending > 0) return syncResult(r, "failed", status.reason, r.rejection);
    return syncResult(r, "synced", status.reason);
  } finally {
    r.probes.delete(probe);
  }
}

export function syncResult(
  r: ReplicationRunner,
  outcome: SyncResult["outcome"],
  reason: StatusReason | undefined,
  error?: StatusError,
): SyncResult {
  const status = r.status;
  return {
    outcome,
    acknowledged: outcome === "synced",
    pending: status.pending,
    ...(reason === undefined ? {} : { reason }),
    ...(error === undefined ? {} : { error }),
    status,
  };
}

/** A request was answered by the server: the sync() calls in progress have their check. */
export function contacted(r: ReplicationRunner): void {
  for (const p of r.probes) p.contacted = true;
}
