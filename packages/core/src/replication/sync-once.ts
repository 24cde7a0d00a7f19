import { HokanError } from "../errors.js";
import { systemRuntime } from "../runtime.js";
import type { ReplicationOptions, SyncOptions, SyncResult } from "./api.js";
import { createReplication } from "./replication.js";

/** Options of {@link syncOnce}: a replication's, and how long the run may take. */
export interface SyncOnceOptions extends Omit<ReplicationOptions, "live"> {
  /**
   * How long the whole run may take (ms): starting, pushing, pulling and stopping. Give it less than the task's own
   * budget (iOS gives a background refresh about 30 s, Android's WorkManager 10 minutes), for the host's own work.
   */
  readonly deadlineMs: number;
  /** Ends the run early (the OS is taking the task's time back): it resolves as `timed-out`, nothing half-applied. */
  readonly signal?: AbortSignal;
  /** A bulk backup, as {@link SyncOptions.bulk}. */
  readonly bulk?: boolean;
}

/** What {@link syncOnce} did, and what it left for the next run. */
export interface SyncOnceResult extends SyncResult {
  /** Changes of this device the server acknowledged during the run. */
  readonly pushed: number;
  /** Documents the run took from the server (page by page, each page committed whole). */
  readonly pulled: number;
  /** How long the run took (ms, on the replication's runtime clock). */
  readonly elapsedMs: number;
}

/**
 * One replication run in a background task: start the app's replication without a live channel, push what is queued
 * and pull what is new, then stop, within `deadlineMs`. Every page of a pull and every acknowledgement is committed
 * in one store transaction, so a run that ends at its deadline (or its `signal`) leaves the store at a whole page:
 * what is left goes with the next run or the next launch. It never throws for a failure of the server or the
 * network; the result says `failed`, `held` or `timed-out`, and what is still `pending`.
 *
 * Do not run it for an app whose replication is running in the same process (the app is in the foreground): call
 * that replication's `sync()` instead.
 *
 * @example
 * ```ts
 * // iOS BGAppRefreshTask / Android WorkManager, through the host's background-task module
 * const result = await syncOnce({ ...replicationOptions, deadlineMs: 20_000 });
 * finishTask(result.outcome === "synced");
 * ```
 */
export async function syncOnce(options: SyncOnceOptions): Promise<SyncOnceResult> {
  const { deadlineMs, signal, bulk, ...replicationOptions } = options;
  if (!(Number.isFinite(deadlineMs) && deadlineMs > 0)) {
    throw new HokanError("bad-request", "deadlineMs is the time the run may take, in ms, above 0");
  }
  const replication = createReplication({ ...replicationOptions, live: false });
  const runtime = replicationOptions.runtime ?? systemRuntime;
  const now = () => runtime.now();
  const started = now();
  let pulled = 0;
  const counting = replication.changes$.subscribe((c) => {
    if (c.origin === "remote") pulled++;
  });
  // Aborting the run ends the wait with `timed-out`, not with a rejection: the run still stops cleanly.
  const ended = new AbortController();
  const abort = () => ended.abort();
  signal?.addEventListener("abort", abort);
  if (signal?.aborted) abort();
  try {
    await replication.start();
    const before = replication.status.pending;
    const result = ended.signal.aborted
      ? undefined
      : await replication
          .sync({
            timeoutMs: Math.max(1, deadlineMs - (now() - started)),
            signal: ended.signal,
            bulk: bulk === true,
          })
          .catch((error: unknown) => {
            if (ended.signal.aborted) return undefined;
            throw error;
          });
    const status = replication.status;
    const outcome: SyncResult = result ?? {
      outcome: "timed-out",
      acknowledged: false,
      pending: status.pending,
      ...(status.reason === undefined ? {} : { reason: status.reason }),
      status,
    };
    return {
      ...outcome,
      pushed: Math.max(0, before - outcome.pending - (status.dropped ?? 0)),
      pulled,
      elapsedMs: now() - started,
    };
  } finally {
    signal?.removeEventListener("abort", abort);
    counting.unsubscribe();
    await replication.stop();
  }
}
