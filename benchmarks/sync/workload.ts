import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { docId } from "./documents.js";

/**
 * The workload every system runs: documents shaped like app backup data (about 1 KB of JSON), the scenarios, and the
 * small timing helpers the systems share.
 */

/** The scenarios of the sync benchmark (see docs/performance.md). */
export const SCENARIOS = ["push", "restore", "live", "conflict", "release"] as const;
export type Scenario = (typeof SCENARIOS)[number];

export { BATCH, doc, docId, PULL_MAX, WRITE_CHUNK } from "./documents.js";

/** What one scenario run reports: the timed seconds, and for `live` the latency of each write. */
export interface RunResult {
  readonly seconds: number;
  readonly latenciesMs?: readonly number[];
  /** For `conflict`: whether every device and the server ended with the same documents. */
  readonly converged?: boolean;
}

/** A system under test: each scenario sets itself up, times only its measured part, and cleans up. */
export interface SystemUnderTest {
  readonly name: string;
  /** How it is configured, said in the table and the results (its best honest configuration). */
  readonly config: string;
  readonly scenarios: Partial<Record<Scenario, (n: number) => Promise<RunResult>>>;
  close(): Promise<void>;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` until it is true, failing after `timeoutMs`. */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 300_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (let wait = 1; !(await check()); wait = Math.min(wait * 2, 20)) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(wait);
  }
}

/**
 * Times `fn` in seconds. With `BENCH_PROFILE=<file>` in the environment, the timed part (only) is CPU-profiled into
 * that file (the last timed part of the process wins), to open in Chrome's DevTools or summarise with
 * `node sync/profile-top.mjs <file>`.
 */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const profile = process.env.BENCH_PROFILE;
  const session = profile ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: 200 });
    await session.post("Profiler.start");
  }
  const start = performance.now();
  await fn();
  const seconds = (performance.now() - start) / 1000;
  if (session && profile) {
    const { profile: data } = await session.post("Profiler.stop");
    writeFileSync(profile, JSON.stringify(data));
    session.disconnect();
  }
  return seconds;
}

export { percentile } from "../harness.js";

/** The number of live round trips measured (fewer in a `--quick` smoke run). */
export const LIVE_SAMPLES = Number(process.env.BENCH_LIVE_SAMPLES ?? 200);

/**
 * The live scenario's loop, the same for every system: {@link LIVE_SAMPLES} times, `write` document i on one device
 * and wait for `arrival(id)` on the other (asked for before the write); each round trip's milliseconds.
 */
export async function sampleLive(
  arrival: (id: string) => Promise<unknown>,
  write: (i: number, id: string) => unknown,
): Promise<RunResult> {
  const latenciesMs: number[] = [];
  for (let i = 0; i < LIVE_SAMPLES; i++) {
    const id = docId(i);
    const arrived = arrival(id);
    const start = performance.now();
    await write(i, id);
    await arrived;
    latenciesMs.push(performance.now() - start);
  }
  return { seconds: latenciesMs.reduce((x, y) => x + y, 0) / 1000, latenciesMs };
}
/**
 * Milliseconds added to every Hokan request (`BENCH_DELAY_MS`, default 0): a mobile round trip, to see what pushes
 * in flight buy on a real network. Loopback is the default, as for every peer.
 */
export const DELAY_MS = Number(process.env.BENCH_DELAY_MS ?? 0);

/** Documents both devices change in the conflict scenario. */
export const CONFLICT_DOCS = 1000;
