/**
 * Opt-in soak: many random schedules through the same invariants as the property test.
 *
 *   pnpm soak                          # 100,000 schedules
 *   pnpm soak -- --runs 5000 --seed 9  # fewer, another seed
 *   pnpm soak -- --max-minutes 30      # stop early after 30 minutes, and say how many ran
 */
import fc from "fast-check";
import { runSchedule, scheduleArb } from "./schedule.js";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

const runs = arg("runs", 100_000);
const seed = arg("seed", Date.now() % 2 ** 31);
const deadline = Date.now() + arg("max-minutes", 120) * 60_000;
const started = Date.now();
let ran = 0;
let writes = 0;
let requests = 0;

const property = fc.asyncProperty(scheduleArb(60), async (schedule) => {
  if (Date.now() > deadline) return true;
  const r = await runSchedule(schedule);
  ran++;
  writes += r.writes;
  requests += r.requests;
  if (ran % 5000 === 0) {
    const rate = (ran / ((Date.now() - started) / 1000)).toFixed(0);
    console.log(`${ran} schedules, ${writes} writes, ${requests} requests (${rate} schedules/s)`);
  }
  return true;
});

const result = await fc.check(property, { numRuns: runs, seed, endOnFailure: true });
const seconds = ((Date.now() - started) / 1000).toFixed(1);
console.log(
  `seed ${seed}: ran ${ran} of ${runs} schedules in ${seconds} s (${writes} writes, ${requests} requests)`,
);
if (result.failed) {
  console.error(fc.defaultReportMessage(result));
  process.exitCode = 1;
} else if (ran < runs) {
  console.log(`stopped at the time limit after ${ran} schedules; no invariant was broken`);
} else {
  console.log("no invariant was broken");
}
