// The runner's side of a push: push-session.ts decides, these functions prepare batches from the outbox, send them,
// commit their answers and set aside a change the server keeps failing on.
import { HokanError, isErrorCode } from "../errors.js";
import type { OutboxEntry } from "../ports.js";
import type { PushResponse, PushResult } from "../protocol.js";
import { randomId } from "../runtime.js";
import { pushFingerprint } from "../server-rules.js";
import { afterCommit, commitPlan, planContext, refreshCounts, standingError } from "./commits.js";
import { dispatch, fail, remote } from "./drive.js";
import { type InFlightBatch, type Outcome, type PreparedBatch, trackBatch } from "./in-flight.js";
import { atEpoch, docKey, epochMoved, type PlannedCommit, staleEpoch } from "./plans.js";
import { documentsNeedingEntries, pickBatch, planPushResults, toPushChange } from "./push-plans.js";
import {
  batchAnswer,
  hintHeld,
  type PushEnvironment,
  type PushEvent,
  startPush,
  stepPush,
} from "./push-session.js";
import type { ReplicationRunner } from "./replication.js";
import { publish } from "./runner-status.js";
import { SessionQueue } from "./session-queue.js";
import { contacted } from "./waits.js";

/** A change the server fails on (500) this many times, sent alone, is set aside as refused. */
const SERVER_FAILURES_PER_CHANGE = 3;

/**
 * Runs one push as {@link stepPush} decides it (push-session.ts: which batch goes out, which answer is committed
 * next, when it is over): this turns its effects into store and transport work and feeds back what came of them.
 */
export async function runPush(r: ReplicationRunner): Promise<void> {
  const generation = r.generation;
  const inputs = r.context.inputsVersion;
  // A retried batch (same changes) goes under the same idempotency key as its earlier unanswered attempt.
  const earlier = r.lastAttempts;
  r.lastAttempts = new Map();
  const prepared = new Map<number, PreparedBatch>();
  const sent = new Map<number, InFlightBatch>();
  const reported = new Set<number>();
  let ids = 0;
  let failure: { reason: unknown } | undefined;
  const env = (): PushEnvironment => ({
    mayContinue:
      generation === r.generation && r.state === "pushing" && r.context.backupAllowed && !r.context.needPull,
    checkpoint: r.space.current?.checkpoint,
  });
  const push = new SessionQueue(startPush(r.options.pushesInFlight ?? 3), (session, event: PushEvent) =>
    stepPush(session, event, env()),
  );
  // A live hint that comes while batches are in flight is the session's to hold.
  const hold = (seq: number) => push.feed({ type: "hint", seq });
  r.pushHint = hold;
  /** A held hint no answer explained is another device's change, to pull: said once, at the end. */
  let released = false;
  const release = (hinted: boolean) => {
    if (released) return;
    released = true;
    if (hinted) dispatch(r, { type: "remote-change" });
  };
  /** Answers that came since the last look, fed in the order the batches were sent. */
  const collect = () => {
    for (const [id, b] of sent) {
      if (reported.has(id) || !b.outcome) continue;
      reported.add(id);
      const outcome = b.outcome;
      push.feed({
        type: "answered",
        id,
        answer: "reason" in outcome ? { ok: false } : batchAnswer(outcome.response),
      });
    }
  };
  try {
    for (;;) {
      collect();
      const effect = push.effects.shift();
      if (effect === undefined) {
        if (push.session.done) return;
        // Nothing to do until an answer comes.
        await Promise.race([...sent.values()].filter((b) => !b.outcome).map((b) => b.settled));
        if (generation !== r.generation) return;
        continue;
      }
      switch (effect.type) {
        case "prepare": {
          const next = await r.space.serial(() => prepareBatch(r, [...sent.values()]));
          if (next) prepared.set(++ids, next);
          push.feed({ type: "prepared", ...(next ? { id: ids } : {}) });
          break;
        }
        case "send": {
          // A batch prepared before a stop() still goes out, as a request already on its way would; its answer is
          // dropped. Fingerprints are worked out only when an earlier batch went unanswered, or for this one when it
          // does.
          const next = prepared.get(effect.id) as PreparedBatch;
          prepared.delete(effect.id);
          const key = (earlier.size > 0 && earlier.get(pushFingerprint(next.changes))) || randomId(r.runtime);
          const answer = remote(() =>
            r.options.transport.push({
              scope: r.app$.value,
              idempotencyKey: key,
              changes: next.changes,
              ...([...r.probes].some((p) => p.bulk) ? { bulk: true } : {}),
            }),
          );
          sent.set(effect.id, trackBatch(next, key, r.runtime.now(), answer));
          publish(r, { inFlight: true });
          break;
        }
        case "commit": {
          const head = sent.get(effect.id) as InFlightBatch;
          sent.delete(effect.id);
          const pullNeeded = await commitAnswer(r, head, (reason) => {
            failure ??= { reason };
          });
          if (generation !== r.generation) return;
          push.feed({ type: "committed", id: effect.id, pullNeeded });
          break;
        }
        case "finish": {
          r.inFlight.clear();
          release(effect.hinted);
          if (failure) throw failure.reason;
          publish(r, { lastError: standingError(r) });
          // More to push: what the outbox holds beyond the changes refused for good.
          const more = (await r.store.countOutbox(r.ns)) > r.rejectedSeqs.size;
          if (generation !== r.generation) return;
          dispatch(r, { type: "push-done", more, pullNeeded: effect.pullNeeded });
          return;
        }
      }
    }
  } catch (error) {
    if (generation !== r.generation) return;
    r.inFlight.clear();
    release(hintHeld(push.session, r.space.current?.checkpoint));
    fail(r, error, inputs);
  } finally {
    if (r.pushHint === hold) r.pushHint = undefined;
  }
}

/**
 * Commits one batch's answer: a failure is recorded (its idempotency key kept for the retry, a server failure's
 * changes made suspects) and reported through `failed`; an answer's results are planned and committed in one store
 * step. Returns whether the answer showed changes to pull.
 */
export async function commitAnswer(
  r: ReplicationRunner,
  head: InFlightBatch,
  failed: (reason: unknown) => void,
): Promise<boolean> {
  const outcome = head.outcome as Outcome<PushResponse>;
  if ("reason" in outcome) {
    failed(outcome.reason);
    r.lastAttempts.set(pushFingerprint(head.changes), head.key);
    if (HokanError.is(outcome.reason, "server")) await serverFailed(r, head.batch, outcome.reason);
    return false;
  }
  for (const e of head.batch) r.suspects.delete(e.seq);
  r.othersAnswered = true;
  const generation = r.generation;
  const plan = await r.space.serial(async () => {
    const current = await r.space.ready();
    if (staleEpoch(current, outcome.response.epoch)) {
      for (const e of head.batch) r.inFlight.delete(e.seq);
      return undefined;
    }
    // Changes a conflict resolution queues are made knowing the server's current epoch.
    const ctx = planContext(r, outcome.response.epoch);
    const moved = epochMoved(current, outcome.response.epoch, false);
    const records = moved
      ? await r.space.records(head.batch, true)
      : await r.space.records(head.batch, false, (documents) =>
          documentsNeedingEntries(head.batch, outcome.response, documents),
        );
    const plan = await planPushResults(
      ctx,
      { ...records, sync: r.space.measureClock(current, head.sentAt, outcome.response.serverTime) },
      head.batch,
      outcome.response,
      r.runtime.now(),
    );
    await commitPlan(r, plan);
    noteRejections(r, plan.rejected, head.batch);
    for (const e of head.batch) r.inFlight.delete(e.seq);
    await refreshCounts(r);
    return plan;
  });
  if (generation !== r.generation) return false;
  contacted(r);
  if (!plan) return false;
  afterCommit(r, plan);
  return plan.pullNeeded;
}

/**
 * The next batch, read in one store step: the oldest queued change of each document no batch in `window` holds.
 * With batches in flight it reads past the newest of them, so the store does not read (and copy) them again; a
 * change left behind (its document busy) goes in the next push.
 */
export async function prepareBatch(
  r: ReplicationRunner,
  window: readonly InFlightBatch[],
): Promise<PreparedBatch | undefined> {
  if (r.suspects.size > 0) {
    // Finding the change the server fails on: one at a time, alone.
    if (window.length > 0) return undefined;
    const suspect = await nextSuspect(r);
    if (suspect) return prepared(r, [suspect]);
    r.suspects.clear();
  }
  const size = r.options.pushBatchSize ?? 200;
  const busy = new Set<string>();
  let newest: number | undefined;
  for (const sent of window) {
    for (const e of sent.batch) busy.add(docKey(e));
    const last = sent.batch.at(-1);
    if (last) newest = Math.max(newest ?? 0, last.seq);
  }
  // Room for refused entries, skipped by pickBatch. A document's later change (made while its earlier one was in
  // flight; otherwise writes coalesce) may leave the batch short: it goes in the next one. Reading more than a
  // batch on the chance cost a copy of every entry read, which on IndexedDB is most of a push's reading.
  const limit = size + r.rejectedSeqs.size;
  // Under the epoch known now, in this store step: the answer is judged against the epoch the change was sent in.
  const { epoch } = await r.space.ready();
  const entries = atEpoch(await r.store.readOutbox(r.ns, limit, newest), epoch);
  const batch = pickBatch(
    entries.filter((e) => !busy.has(docKey(e))),
    size,
  );
  if (batch.length === 0) {
    // A sync() must hear from the server: where no pull can (the registry offers no restore), an empty push does.
    const confirm =
      window.length === 0 && !r.context.restoreAllowed && [...r.probes].some((p) => !p.contacted);
    return confirm ? { batch: [], changes: [] } : undefined;
  }
  return prepared(r, batch);
}

/** A batch's changes in their wire form, its entries marked in flight. */
export async function prepared(r: ReplicationRunner, batch: OutboxEntry[]): Promise<PreparedBatch> {
  const docs = await r.store.getDocuments(r.ns, batch);
  const changes = batch.map((e, k) => toPushChange(e, docs[k], r.options.deltas ?? true, r.schema.version));
  for (const e of batch) r.inFlight.add(e.seq);
  return { batch, changes };
}

/** The queued suspect tried the fewest times alone: the others get their turn between a failing change's tries. */
export async function nextSuspect(r: ReplicationRunner): Promise<OutboxEntry | undefined> {
  const { epoch } = await r.space.ready();
  let next: OutboxEntry | undefined;
  for (const e of atEpoch(await r.store.readOutbox(r.ns), epoch)) {
    const tries = r.suspects.get(e.seq);
    if (tries === undefined || e.rejected !== undefined) continue;
    if (next === undefined || tries < (r.suspects.get(next.seq) ?? 0)) next = e;
  }
  return next;
}

/**
 * The server failed (500) on a batch: its changes are suspects, sent alone from now on, the least tried first. One
 * that fails alone {@link SERVER_FAILURES_PER_CHANGE} times while the server answers other changes is set aside as
 * refused with `server` (status shows it, its wait rejects, its document's next write replaces it), and the rest goes
 * on. A server failing on everything is only retried, with backoff, and shown in `lastError`.
 */
export async function serverFailed(
  r: ReplicationRunner,
  batch: readonly OutboxEntry[],
  error: HokanError,
): Promise<void> {
  if (batch.length !== 1) {
    if (r.suspects.size === 0) r.othersAnswered = false;
    for (const e of batch) if (!r.suspects.has(e.seq)) r.suspects.set(e.seq, 0);
    return;
  }
  const entry = batch[0] as OutboxEntry;
  const failures = (r.suspects.get(entry.seq) ?? 0) + 1;
  r.suspects.set(entry.seq, failures);
  // Set aside only while the server answers other changes: a server failing on everything is waited out instead.
  if (failures < SERVER_FAILURES_PER_CHANGE || !r.othersAnswered) return;
  r.suspects.delete(entry.seq);
  const message = `the server failed on this change ${failures} times (${error.message})`;
  await r.space.serial(async () => {
    const [current] = await r.store.outboxFor(r.ns, [entry]);
    // Written again meanwhile: the new change gets its own chances.
    if (!current || current.seq !== entry.seq || current.changeId !== entry.changeId) return;
    const plan: PlannedCommit = {
      commit: { outboxPut: [{ ...current, rejected: { code: "server", message } }] },
      changed: [],
      reset: false,
    };
    await commitPlan(r, plan);
    noteRejections(r, [{ changeId: entry.changeId, status: "rejected", code: "server", message }], [entry]);
    await refreshCounts(r);
  });
}

/** Changes the server refused for good wait for their document's next write; the latest refusal is reported. */
export function noteRejections(
  r: ReplicationRunner,
  rejected: readonly PushResult[],
  batch: readonly OutboxEntry[],
): void {
  for (const result of rejected) {
    const e = batch.find((b) => b.changeId === result.changeId);
    if (!e || result.status !== "rejected" || result.code === "bad-patch") continue;
    r.rejectedSeqs.add(e.seq);
    r.rejection = {
      code: isErrorCode(result.code) ? result.code : "bad-request",
      message: `${e.collection}/${e.id}: ${result.message}`,
      retryable: false,
      at: r.runtime.now(),
    };
  }
}
