// Local writes: a put, delete, bulk write or first-launch default and its outbox entry in one store step, then
// announced to the machine (after a debounce).
import { HokanError } from "../errors.js";
import { jsonEqual } from "../json.js";
import { INITIAL_SYNC_STATE, type LocalDocument, type OutboxEntry } from "../ports.js";
import type { WriteKind } from "../protocol.js";
import { NOTHING_QUEUED, type WriteReceipt, type WrittenDocument } from "./acknowledgements.js";
import type { WriteChange } from "./api.js";
import { planContext, refreshCounts } from "./commits.js";
import { dispatch } from "./drive.js";
import { atEpoch, docKey, groupByDoc, planLocalWrite } from "./plans.js";
import type { ReplicationRunner } from "./replication.js";

/** With the guard on, waits for this device's first restore (or its timeout). */
export async function restoreGate(r: ReplicationRunner): Promise<void> {
  if (r.gate.isOpen) return;
  await r.space.serial(() => r.space.ready());
  if (r.space.current?.lastPullAt !== undefined) r.gate.openNow();
  await r.gate.wait();
}

/**
 * Writes documents in one store commit. A document written twice in the batch keeps its last state; a write that
 * changes nothing queues nothing.
 */
export async function write(
  r: ReplicationRunner,
  changes: readonly WriteChange[],
  kind?: WriteKind,
): Promise<{ count: number; receipt: WriteReceipt }> {
  await restoreGate(r);
  const last = new Map<string, WriteChange>();
  for (const c of changes) {
    if (!Object.hasOwn(r.options.collections, c.collection)) {
      throw new HokanError(
        "bad-request",
        `collection ${JSON.stringify(c.collection)} is not backed up by this app`,
      );
    }
    const k = docKey(c);
    last.delete(k);
    last.set(k, c);
  }
  if (last.size === 0) return { count: 0, receipt: { writes: [], epoch: 0 } };
  const { wrote, receipt } = await r.space.serial(async () => {
    await r.space.ready();
    const wanted = [...last.values()];
    // Read afresh: another tab's engine may have learned a new epoch or ticked the clock meanwhile.
    const sync = (await r.store.getSync(r.ns)) ?? INITIAL_SYNC_STATE;
    const locals = await r.store.getDocuments(r.ns, wanted);
    const byKey = groupByDoc(atEpoch(await r.store.outboxFor(r.ns, wanted), sync.epoch));
    const writes: WrittenDocument[] = [];
    const changed = wanted.filter((c, i) => {
      const local = locals[i];
      const queued = byKey.get(docKey(c)) ?? [];
      // A default is written only where the document does not exist (or was deleted).
      const changes =
        kind === "default"
          ? local === undefined || local.data === null
          : local === undefined
            ? c.data !== null
            : !jsonEqual(local.data, c.data) ||
              // The same data, but not on the server: a delete of the backup dropped it. Written again, it goes.
              (local.data !== null && local.base === undefined && queued.length === 0);
      // A write that changes nothing is acknowledged with the state it left alone: its latest queued change.
      if (!changes) {
        const seq = queued.at(-1)?.seq ?? NOTHING_QUEUED;
        writes.push({ collection: c.collection, id: c.id, seq });
      }
      return changes;
    });
    if (changed.length === 0) return { wrote: [], receipt: { writes, epoch: sync.epoch } };
    const localByKey = new Map(locals.flatMap((d) => (d ? [[docKey(d), d] as const] : [])));
    const ctx = planContext(r, sync.epoch);
    ctx.clock.receive(sync.hlc);
    const documents: LocalDocument[] = [];
    const outboxPut: OutboxEntry[] = [];
    const replaced: number[] = [];
    for (const c of changed) {
      const k = docKey(c);
      const key = { collection: c.collection, id: c.id };
      const plan = planLocalWrite(ctx, key, c.data, localByKey.get(k), byKey.get(k) ?? [], r.inFlight, kind);
      documents.push(plan.document);
      outboxPut.push(plan.entry);
      if (plan.replaces !== undefined) replaced.push(plan.replaces);
    }
    const given = await r.space.commit({ documents, outboxPut, sync: { hlc: ctx.clock.current } });
    writes.push(...(await writtenSeqs(r, outboxPut, given)));
    for (const seq of replaced) r.rejectedSeqs.delete(seq);
    await refreshCounts(r);
    return { wrote: changed, receipt: { writes, epoch: sync.epoch } };
  });
  if (wrote.length === 0) return { count: 0, receipt };
  for (const w of wrote)
    r.changesSubject.next({ collection: w.collection, id: w.id, data: w.data, origin: "local" });
  announceLocalChange(r);
  return { count: wrote.length, receipt };
}

/**
 * The seqs the store gave a write's outbox entries: those it joined keep theirs, new ones get what the store says
 * it gave them (in the order put), or, from a store that does not say, what reading them back finds.
 */
export async function writtenSeqs(
  r: ReplicationRunner,
  put: readonly OutboxEntry[],
  given: readonly number[] | undefined,
): Promise<WrittenDocument[]> {
  const fresh = put.filter((e) => e.seq <= 0);
  let seqOf = (_e: OutboxEntry, i: number): number => given?.[i] ?? NOTHING_QUEUED;
  if (given === undefined || given.length !== fresh.length) {
    const back = await r.store.outboxFor(r.ns, fresh);
    const byChange = new Map(back.map((e) => [e.changeId, e.seq]));
    const latest = new Map(back.map((e) => [docKey(e), e.seq]));
    // Not found by its change: another engine sharing the store wrote the document into it (its latest change), or
    // sent it and had it acknowledged (none left).
    seqOf = (e) => byChange.get(e.changeId) ?? latest.get(docKey(e)) ?? NOTHING_QUEUED;
  }
  let i = 0;
  return put.map((e) => ({ collection: e.collection, id: e.id, seq: e.seq > 0 ? e.seq : seqOf(e, i++) }));
}

/** Tells the machine about local writes; with `debounceMs`, a burst of writes becomes one push. */
export function announceLocalChange(r: ReplicationRunner): void {
  const wait = r.options.debounceMs ?? 0;
  if (wait <= 0) {
    dispatch(r, { type: "local-change" });
    return;
  }
  if (r.debounceTimer !== undefined) return;
  r.debounceTimer = r.runtime.setTimeout(() => {
    r.debounceTimer = undefined;
    dispatch(r, { type: "local-change" });
  }, wait);
}
