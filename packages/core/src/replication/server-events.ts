// What the server tells outside a pull or push: a live hint, a delete of the backup, a registry to fetch again.
import { HokanError } from "../errors.js";
import type { LiveHint } from "../protocol.js";
import { afterCommit, commitPlan, judgeAcknowledgements, refreshCounts } from "./commits.js";
import { dispatch } from "./drive.js";
import type { PlannedCommit } from "./plans.js";
import { planReset } from "./reconcile.js";
import type { ReplicationRunner } from "./replication.js";

export async function backupDeleted(r: ReplicationRunner, epoch: number): Promise<void> {
  if (!Number.isSafeInteger(epoch) || epoch < 1) {
    throw new HokanError("bad-request", "the epoch of a delete is a positive integer");
  }
  const plan = await r.space.serial(async () => {
    const current = await r.space.ready();
    if (current.epoch !== 0 && epoch <= current.epoch) return undefined;
    const { all } = await r.space.records([], true);
    const reset = planReset(epoch, all?.documents ?? [], all?.entries ?? []);
    const planned: PlannedCommit = {
      commit: {
        documents: reset.documents,
        outboxDelete: reset.dropped.map((e) => e.seq),
        sync: reset.sync,
      },
      changed: [],
      reset: true,
      ...(reset.dropped.length > 0 ? { dropped: reset.dropped } : {}),
    };
    await commitPlan(r, planned);
    await refreshCounts(r);
    return planned;
  });
  if (!plan) return;
  afterCommit(r, plan);
  // Pull the new epoch from its start (what another device backed up since the delete).
  dispatch(r, { type: "remote-change" });
}

export async function refresh(r: ReplicationRunner): Promise<void> {
  await r.space.serial(async () => {
    await refreshCounts(r);
    if (r.acks.waiting) await judgeAcknowledgements(r);
  });
  r.waiters.check();
  dispatch(r, { type: "local-change" });
}

export function syncLive(r: ReplicationRunner): void {
  r.live.want(
    r.options.live !== false && r.policySub !== undefined && r.context.restoreAllowed && r.state !== "fatal",
  );
}

export function onLive(r: ReplicationRunner, event: LiveHint): void {
  if (event.appId !== r.app$.value.appId) return;
  r.lastHeard = r.runtime.now();
  const hold = r.pushHint;
  const verdict = r.hints.receive(
    event,
    r.space.current?.checkpoint,
    hold !== undefined && r.inFlight.size > 0,
  );
  if (verdict === "pull") dispatch(r, { type: "remote-change" });
  else if (verdict !== "ignore") hold?.(verdict.hold);
}
