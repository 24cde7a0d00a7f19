// What drives the machine: events in, effects out (timers, probes, a safety pull, the push and pull runners), and
// what a failure, the registry and the schema do to it.
import { HokanError } from "../errors.js";
import type { PolicySnapshot } from "../policy-stream.js";
import type { ReplicationOptions } from "./api.js";
import { unexpected } from "./guarded-store.js";
import {
  backoffDelay,
  DEFAULT_BACKOFF,
  type MachineEffect,
  type MachineEvent,
  transition,
} from "./machine.js";
import { runPull } from "./pull-runner.js";
import { runPush } from "./push-runner.js";
import type { ReplicationRunner } from "./replication.js";
import { publish } from "./runner-status.js";
import { syncLive } from "./server-events.js";
import { statusError } from "./status.js";

/** Codes that say the registry may have changed: it is fetched again. */
const REGISTRY_CODES = new Set(["retired", "upgrade-required", "capability", "unsupported"]);
/** Failures after which the server may simply be out of reach: worth probing for while backing off. */
const UNREACHABLE_CODES = new Set(["network", "timeout"]);
/** Default {@link ReplicationOptions.probeMs}. */
const PROBE_MS = 5_000;
/** Default {@link ReplicationOptions.safetyPullMs}. */
const SAFETY_PULL_MS = 5 * 60_000;

export function dispatch(r: ReplicationRunner, event: MachineEvent): void {
  const step = transition(r.state, r.context, event);
  r.state = step.state;
  r.context = step.context;
  for (const effect of step.effects) perform(r, effect);
  syncLive(r);
  syncSafetyPull(r);
  publish(r, {});
}

export function perform(r: ReplicationRunner, effect: MachineEffect): void {
  switch (effect.type) {
    case "pull":
      void runPull(r);
      return;
    case "push":
      void runPush(r);
      return;
    case "schedule-retry": {
      const delay = backoffDelay(
        effect.attempt,
        () => r.runtime.random(),
        r.options.backoff ?? DEFAULT_BACKOFF,
      );
      r.retryTimer = r.runtime.setTimeout(() => {
        r.retryTimer = undefined;
        stopProbing(r);
        dispatch(r, { type: "retry-due" });
      }, delay);
      const probeMs = r.options.probeMs ?? PROBE_MS;
      if (probeMs > 0 && delay > probeMs && r.failureCode && UNREACHABLE_CODES.has(r.failureCode)) {
        scheduleProbe(r, probeMs);
      }
      return;
    }
    case "cancel-retry":
      if (r.retryTimer !== undefined) r.runtime.clearTimeout(r.retryTimer);
      r.retryTimer = undefined;
      stopProbing(r);
      return;
  }
}

/**
 * While backing off from a failure that may only mean the server is out of reach, asks whether it can be reached
 * every `probeMs` (with jitter): a partition that heals is noticed within seconds, not at the end of a long delay.
 * A server that answers but fails (`server`, `rate-limited`) is left its backoff.
 */
export function scheduleProbe(r: ReplicationRunner, probeMs: number): void {
  const probe = r.options.transport.probe?.bind(r.options.transport);
  if (!probe) return;
  const generation = r.generation;
  r.probeTimer = r.runtime.setTimeout(
    () => {
      r.probeTimer = undefined;
      probe().then(
        () => {
          if (generation === r.generation) reachable(r);
        },
        () => {
          if (generation === r.generation && r.state === "backoff" && r.retryTimer !== undefined) {
            scheduleProbe(r, probeMs);
          }
        },
      );
    },
    Math.round(probeMs / 2 + r.runtime.random() * (probeMs / 2)),
  );
}

export function stopProbing(r: ReplicationRunner): void {
  if (r.probeTimer !== undefined) r.runtime.clearTimeout(r.probeTimer);
  r.probeTimer = undefined;
}

/** The server answered (a probe, a reopened live channel): a backoff from its being out of reach ends now. */
export function reachable(r: ReplicationRunner): void {
  if (r.state !== "backoff" || !r.failureCode || !UNREACHABLE_CODES.has(r.failureCode)) return;
  retryNow(r);
  r.live.retryNow();
}

/** Ends a backoff now instead of at its delay. */
export function retryNow(r: ReplicationRunner): void {
  perform(r, { type: "cancel-retry" });
  dispatch(r, { type: "retry-due" });
}

/**
 * A pull when the server has told this device nothing for `safetyPullMs` while it rests with restores allowed: a
 * hint lost on the way (the live channel is best effort) is found within that time at worst. The timer runs only
 * while resting so; the quiet counts from the server's last word.
 */
export function syncSafetyPull(r: ReplicationRunner): void {
  const every = r.options.safetyPullMs ?? SAFETY_PULL_MS;
  const wanted = every > 0 && r.policySub !== undefined && r.state === "idle" && r.context.restoreAllowed;
  if (!wanted) {
    if (r.safetyTimer !== undefined) r.runtime.clearTimeout(r.safetyTimer);
    r.safetyTimer = undefined;
    return;
  }
  if (r.safetyTimer !== undefined) return;
  const due = Math.max(1, every - (r.runtime.now() - r.lastHeard));
  r.safetyTimer = r.runtime.setTimeout(() => {
    r.safetyTimer = undefined;
    if (r.runtime.now() - r.lastHeard >= every) {
      r.lastHeard = r.runtime.now();
      dispatch(r, { type: "remote-change" });
    } else {
      syncSafetyPull(r);
    }
  }, due);
}

export function onPolicy(r: ReplicationRunner, snapshot: PolicySnapshot): void {
  publish(r, { backup: snapshot.backup, restore: snapshot.restore });
  dispatch(r, {
    type: "policy",
    backupAllowed: snapshot.backup.kind === "allowed",
    restoreAllowed: snapshot.restore.kind === "allowed",
    inputsVersion: snapshot.inputsVersion,
  });
}

export function fail(r: ReplicationRunner, error: unknown, inputsVersion: number): void {
  const e = unexpected(error);
  r.failureCode = e.code;
  const lastError = statusError(e, r.runtime.now());
  for (const p of r.probes) p.failure ??= lastError;
  publish(r, { inFlight: false, lastError });
  if (REGISTRY_CODES.has(e.code)) fetchRegistry(r);
  dispatch(r, { type: "failed", code: e.code, retryable: e.retryable, inputsVersion });
  // The account's backup is full (the server said so): from now policy denies backup (and restores go on). Told
  // after the failure, so the machine does not take the new input for a reason to retry the refused push. A full
  // device is retried instead.
  if (e.code === "quota" && e.details?.where !== "device") r.quota$.next(true);
}

export function fetchRegistry(r: ReplicationRunner): void {
  const { appId, platform } = r.app$.value;
  r.options.transport.registry(platform).then(
    (entries) => r.registry$.next(entries.find((e) => e.appId === appId) ?? null),
    () => undefined, // unknown stays unknown; the server still decides each request
  );
}

/**
 * Brings the device's data to the app's schema at start: after an upgrade, local documents and queued changes are
 * migrated in one commit, and documents the server held back as too new are pulled again. A device whose data is
 * newer than the app (a downgrade) does not replicate: it would overwrite what it cannot read.
 */
export async function prepareSchema(r: ReplicationRunner): Promise<void> {
  const sync = await r.space.ready();
  const from = sync.schemaVersion ?? 1;
  const to = r.schema.version;
  if (from > to) {
    throw new HokanError(
      "upgrade-required",
      `the data on this device is at schema ${from}; this app reads ${to}`,
    );
  }
  if (from === to) return;
  const store = r.store;
  const documents = (await store.listDocuments(r.ns)).map((d) => r.schema.upgradeDocument(d, from));
  const outboxPut = (await store.readOutbox(r.ns)).map((e) => r.schema.upgradeEntry(e, from));
  const awaiting = sync.awaitingSchema ?? 0;
  // Documents held back as too new are readable now: pull the epoch from its start again to take them.
  const refetch = awaiting > 0 && awaiting <= to;
  await r.space.commit({
    documents,
    outboxPut,
    sync: {
      schemaVersion: to,
      ...(refetch ? { awaitingSchema: 0, checkpoint: { epoch: sync.epoch, seq: 0 } } : {}),
    },
  });
}

export async function remote<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw HokanError.from(error, "network");
  }
}
