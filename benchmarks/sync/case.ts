/**
 * Runs one system × scenario × N in this process (the runner gives each its own, so peak memory is its own) and
 * prints one `RESULT {json}` line.
 *
 *   node --import tsx --conditions=hokan-source sync/case.ts --system hokan-memory-postgres --scenario push --n 10000 --runs 3
 */
import { parseArgs } from "node:util";
import { median } from "../harness.js";
import { SYSTEMS } from "./systems.js";
import { percentile, type RunResult, type Scenario } from "./workload.js";

const { values } = parseArgs({
  options: {
    system: { type: "string" },
    scenario: { type: "string" },
    n: { type: "string" },
    runs: { type: "string", default: "3" },
  },
});
const open = SYSTEMS[values.system ?? ""]?.open;
if (!open) throw new Error(`unknown system ${values.system}; known: ${Object.keys(SYSTEMS).join(", ")}`);
const scenario = values.scenario as Scenario;
const n = Number(values.n);
const runs = Number(values.runs);

const system = await open();
const run = system.scenarios[scenario];
if (!run) throw new Error(`${values.system} has no ${scenario} scenario`);
const results: RunResult[] = [];
for (let i = 0; i < runs; i++) results.push(await run(n));
await system.close();

const seconds = results.map((r) => r.seconds);
const latencies = results.flatMap((r) => r.latenciesMs ?? []);
const out = {
  system: system.name,
  config: system.config,
  key: values.system,
  scenario,
  n,
  runs,
  seconds,
  medianSeconds: median(seconds),
  docsPerSecond: n / median(seconds),
  peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  ...(latencies.length
    ? { p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), samples: latencies.length }
    : {}),
  ...(results.some((r) => r.converged !== undefined) ? { converged: results.every((r) => r.converged) } : {}),
};
console.log(`RESULT ${JSON.stringify(out)}`);
process.exit(0);
