// One store step of what a plan decided, and what follows it: acknowledgements judged, changes and drops told to the
// app, the counts and the error that stands.
import type { DocumentKey } from "../ports.js";
import { randomId } from "../runtime.js";
import { atEpoch, docKey, type PlannedCommit } from "./plans.js";
import type { PlanContext } from "./reconcile.js";
import type { ReplicationRunner } from "./replication.js";
import { publish } from "./runner-status.js";
import type { StatusError } from "./status.js";

export function planContext(r: ReplicationRunner, epoch: number): PlanContext {
  // New outbox entries get placeholder seqs; the store numbers them when committing.
  let placeholder = 0;
  return {
    schema: r.schema,
    strategyOf: (collection) => r.options.collections[collection] ?? "lww",
    clock: r.space.clock,
    epoch,
    newChangeId: () => randomId(r.runtime),
    nextSeq: () => --placeholder,
    acknowledgements: r.store.acknowledgements === true,
  };
}

export async function commitPlan(r: ReplicationRunner, plan: PlannedCommit): Promise<void> {
  await r.space.commit(plan.commit);
  for (const seq of plan.commit.outboxDelete ?? []) r.rejectedSeqs.delete(seq);
  if (plan.dropped) r.acks.noteDropped(plan.dropped);
  if (r.acks.waiting) await judgeAcknowledgements(r, plan);
}

/**
 * Judges the waits for acknowledgements that a commit may have settled (every wait without one), in the store
 * step of the commit: what the server acknowledged is noted first, then each waited-for document's queued changes
 * are read.
 */
export async function judgeAcknowledgements(r: ReplicationRunner, plan?: PlannedCommit): Promise<void> {
  for (const a of plan?.acked ?? []) r.acks.noteAcknowledged(a, a.seq);
  const touched =
    plan === undefined || plan.reset
      ? undefined
      : [
          ...(plan.commit.documents ?? []),
          ...(plan.commit.outboxPut ?? []),
          ...(plan.dropped ?? []),
          ...(plan.acked ?? []),
        ];
  await judgeDocuments(r, r.acks.waitedFor(touched));
}

/** Judges the waits on these documents against their queued changes as the store holds them now. */
export async function judgeDocuments(r: ReplicationRunner, keys: readonly DocumentKey[]): Promise<void> {
  if (keys.length === 0) return;
  const epoch = r.space.current?.epoch ?? 0;
  r.acks.judge(keys, atEpoch(await r.store.outboxFor(r.ns, keys), epoch), epoch);
}

export function afterCommit(r: ReplicationRunner, plan: PlannedCommit): void {
  if (plan.reset) {
    r.quota$.next(false);
    r.rejectedSeqs.clear();
  }
  for (const d of plan.changed) {
    r.changesSubject.next({ collection: d.collection, id: d.id, data: d.data, origin: "remote" });
  }
  if (plan.changed.length > 0) {
    r.receivedCount += plan.changed.length;
    publish(r, { received: r.receivedCount });
  }
  if (plan.dropped && plan.dropped.length > 0) {
    // The rule is right (a delete wins over changes made before the device heard of it), but never silent.
    r.droppedCount += plan.dropped.length;
    const documents = new Map(plan.dropped.map((e) => [docKey(e), { collection: e.collection, id: e.id }]));
    r.droppedSubject.next({
      reason: "deleted",
      epoch: r.space.current?.epoch ?? 0,
      documents: [...documents.values()],
    });
    publish(r, { dropped: r.droppedCount });
  }
  r.waiters.check();
}

/** An error that stands until its cause goes: a refused change, or backed-up data too new for this app. */
export function standingError(r: ReplicationRunner): StatusError | undefined {
  if (r.rejection) return r.rejection;
  const awaiting = r.space.current?.awaitingSchema;
  if (awaiting === undefined || awaiting <= r.schema.version) return undefined;
  return {
    code: "upgrade-required",
    message: `the backup holds data of schema ${awaiting}; this app reads ${r.schema.version}: update it to restore that data`,
    retryable: false,
    at: r.runtime.now(),
  };
}

export async function refreshCounts(r: ReplicationRunner): Promise<void> {
  if (r.rejectedSeqs.size === 0) r.rejection = undefined;
  const pending = await r.store.countOutbox(r.ns);
  const sync = r.space.current;
  publish(r, {
    pending,
    rejected: r.rejectedSeqs.size,
    epoch: sync?.epoch ?? 0,
    ...(sync?.lastPullAt === undefined ? {} : { lastPullAt: sync.lastPullAt }),
    ...(sync?.lastPushAt === undefined ? {} : { lastPushAt: sync.lastPushAt }),
  });
}
