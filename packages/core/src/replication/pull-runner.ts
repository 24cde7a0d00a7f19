// The runner's side of a pull: pull-session.ts decides, these functions ask for pages and commit them.
import { HokanError } from "../errors.js";
import type { PullResponse } from "../protocol.js";
import { afterCommit, commitPlan, planContext, refreshCounts, standingError } from "./commits.js";
import { dispatch, fail, remote } from "./drive.js";
import { type PageRequest, trackPage } from "./in-flight.js";
import { epochMoved, planPull, staleEpoch } from "./plans.js";
import { type PullEvent, startPull, stepPull } from "./pull-session.js";
import type { ReplicationRunner } from "./replication.js";
import { publish } from "./runner-status.js";
import { SessionQueue } from "./session-queue.js";
import { contacted } from "./waits.js";

/**
 * Runs one pull as {@link stepPull} decides it (pull-session.ts: pages pipelined one ahead, committed in order, when
 * it is over), each page asking for twice as many documents as the last (up to `pullBatchMax`).
 */
export async function runPull(r: ReplicationRunner): Promise<void> {
  const generation = r.generation;
  const inputs = r.context.inputsVersion;
  const mayContinue = () => generation === r.generation && r.state === "pulling" && r.context.restoreAllowed;
  // Pages grow while there is more: few round trips for a restore, and its first documents soon.
  let limit = r.options.pullBatchSize ?? 500;
  const maxLimit = Math.max(limit, r.options.pullBatchMax ?? 4000);
  const pages = new Map<number, PageRequest>();
  const answers = new Map<number, PullResponse>();
  try {
    const sync = await r.space.serial(() => r.space.ready());
    // A small change the live channel carried, when it follows the checkpoint (nothing else commits a checkpoint
    // while the device pulls); otherwise the server is asked — and always while a sync() waits for its answer.
    const kept = r.hints.takePage(sync.checkpoint);
    const carried = r.probes.size === 0 ? kept : undefined;
    const pull = new SessionQueue(
      startPull(sync.checkpoint, carried !== undefined),
      (session, event: PullEvent) => stepPull(session, event, mayContinue()),
    );
    for (let effect = pull.effects.shift(); effect !== undefined; effect = pull.effects.shift()) {
      switch (effect.type) {
        case "ask": {
          const request = { scope: r.app$.value, checkpoint: effect.checkpoint, limit };
          limit = Math.min(limit * 2, maxLimit);
          pages.set(
            effect.id,
            trackPage(
              r.runtime.now(),
              remote(() => r.options.transport.pull(request)),
            ),
          );
          break;
        }
        case "carried":
          pages.set(effect.id, trackPage(r.runtime.now(), Promise.resolve(carried as PullResponse)));
          break;
        case "commit": {
          const response = answers.get(effect.id) as PullResponse;
          const sentAt = (pages.get(effect.id) as PageRequest).sentAt;
          answers.delete(effect.id);
          pages.delete(effect.id);
          const stale = !(await commitPage(r, response, sentAt));
          if (generation !== r.generation) return;
          pull.feed({ type: "committed", id: effect.id, stale });
          break;
        }
        case "fail": {
          const outcome = await (pages.get(effect.id) as PageRequest).settled;
          throw "reason" in outcome ? outcome.reason : new HokanError("internal", "a pull page failed");
        }
        case "finish":
          if (effect.restored) r.gate.openNow();
          dispatch(r, { type: "pull-done", more: effect.more });
          return;
      }
      if (
        pull.effects.length === 0 &&
        pull.session.asked !== undefined &&
        pull.session.committing === undefined
      ) {
        // Nothing to do until the page asked for is answered.
        const id = pull.session.asked;
        const outcome = await (pages.get(id) as PageRequest).settled;
        if (generation !== r.generation) return;
        if ("response" in outcome) answers.set(id, outcome.response);
        pull.feed({
          type: "answered",
          id,
          answer:
            "reason" in outcome
              ? { ok: false }
              : {
                  ok: true,
                  more: outcome.response.more,
                  reset: outcome.response.reset,
                  checkpoint: outcome.response.checkpoint,
                },
        });
      }
    }
  } catch (error) {
    if (generation === r.generation) fail(r, error, inputs);
  }
}

/** Commits one pull page in one store step; `false` when it is of an epoch the device has left (nothing done). */
export async function commitPage(
  r: ReplicationRunner,
  response: PullResponse,
  sentAt: number,
): Promise<boolean> {
  const generation = r.generation;
  const planned = await r.space.serial(async () => {
    const current = await r.space.ready();
    if (staleEpoch(current, response.epoch)) return undefined;
    const keys = response.documents;
    const ctx = planContext(r, response.epoch);
    // Every record on an epoch change (every document is rebased, every queued change judged).
    const records = await r.space.records(keys, epochMoved(current, response.epoch, response.reset));
    const plan = await planPull(
      ctx,
      { ...records, sync: r.space.measureClock(current, sentAt, response.serverTime) },
      response,
      r.runtime.now(),
    );
    await commitPlan(r, plan);
    await refreshCounts(r);
    return plan;
  });
  if (!planned) return false;
  if (generation !== r.generation) return true;
  if (!Number.isNaN(response.serverTime)) contacted(r);
  afterCommit(r, planned);
  publish(r, { lastError: standingError(r) });
  r.lastHeard = r.runtime.now();
  return true;
}
