/**
 * Push and restore across document shapes, cold and warm: Hokan against RxDB's replication (with its live pull stream
 * and without), PouchDB and the sequential HTTP + PostgreSQL floor, each case in fresh processes of its own
 * (`sync/case.ts`, the same cases as `sync.ts`) with `BENCH_SHAPE` set:
 *
 * - `text`: few keys and a 620-character text (the sync benchmark's document);
 * - `keys`: many small keys (31 preference keys two levels deep, and a consent object);
 * - `binary`: a Yjs-style base64 update of 768 bytes.
 *
 * Each case runs in `--processes` fresh processes (default 3), `--runs` runs each (default 3): **cold** is the median
 * of the processes' first runs (an app that backs up just after launch), **warm** the median of the others.
 *
 *   node --import tsx --conditions=hokan-source shapes.ts [--quick] [--n 10000] [--shapes keys,binary]
 */
import { parseArgs } from "node:util";
import { median, save } from "./harness.js";
import { SHAPES, type Shape } from "./sync/documents.js";
import { runCase } from "./sync/run-case.js";
import { SYSTEMS } from "./sync/systems.js";

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== "--"),
  options: {
    quick: { type: "boolean", default: false },
    n: { type: "string" },
    shapes: { type: "string" },
    only: { type: "string" },
    processes: { type: "string" },
    runs: { type: "string" },
  },
});
const quick = values.quick ?? false;
const N = Number(values.n ?? (quick ? 500 : 10_000));
const PROCESSES = Number(values.processes ?? (quick ? 1 : 3));
const RUNS = Number(values.runs ?? (quick ? 2 : 3));
const shapes = (values.shapes?.split(",") ?? SHAPES) as Shape[];
const TIMEOUT_S = quick ? 120 : 300;

const SYSTEMS_RUN = [
  "hokan-memory-postgres",
  "rxdb-memory",
  "rxdb-memory-nostream",
  "pouchdb",
  "floor-http-postgres",
].filter((k) => !values.only || values.only.split(",").includes(k));
const SCENARIOS = ["push", "restore"] as const;

interface ShapeResult {
  readonly shape: Shape;
  readonly key: string;
  readonly label: string;
  readonly scenario: (typeof SCENARIOS)[number];
  readonly n: number;
  /** Seconds of every run, by process. */
  readonly seconds: readonly (readonly number[])[];
  readonly coldSeconds: number;
  readonly warmSeconds: number;
  readonly error?: string;
}

/** One process of a case: its runs' seconds. */
function runOnce(key: string, scenario: string, shape: Shape): number[] {
  const ran = runCase({
    system: key,
    scenario,
    n: N,
    runs: RUNS,
    timeoutS: TIMEOUT_S,
    env: { BENCH_SHAPE: shape },
  });
  if (!ran.result) throw new Error(ran.timedOut ? `over ${TIMEOUT_S} s` : ran.error);
  return ran.result.seconds;
}

const results: ShapeResult[] = [];
const cases = shapes.flatMap((shape) =>
  SCENARIOS.flatMap((scenario) => SYSTEMS_RUN.map((key) => ({ shape, scenario, key }))),
);
for (const [i, c] of cases.entries()) {
  const label = SYSTEMS[c.key]?.label ?? c.key;
  process.stdout.write(`[${i + 1}/${cases.length}] ${c.shape} · ${label}: ${c.scenario}, N = ${N} … `);
  const seconds: number[][] = [];
  let error: string | undefined;
  for (let p = 0; p < PROCESSES && !error; p++) {
    try {
      seconds.push(runOnce(c.key, c.scenario, c.shape));
    } catch (e) {
      error = (e as Error).message;
    }
  }
  const cold = median(seconds.map((s) => s[0] as number));
  const warm = median(seconds.flatMap((s) => s.slice(1)));
  results.push({
    ...c,
    label,
    n: N,
    seconds,
    coldSeconds: seconds.length ? cold : Number.NaN,
    warmSeconds: seconds.some((s) => s.length > 1) ? warm : Number.NaN,
    ...(error ? { error } : {}),
  });
  console.log(error ? `FAILED\n${error}` : `cold ${cold.toFixed(3)} s, warm ${warm.toFixed(3)} s`);
}

const rate = (s: number) => (Number.isFinite(s) ? Math.round(N / s).toLocaleString("en-US") : "—");
const find = (shape: Shape, key: string, scenario: string) =>
  results.find((r) => r.shape === shape && r.key === key && r.scenario === scenario && !r.error);
/** Hokan's throughput over `key`'s, cold and warm ("—" where either is missing). */
const times = (shape: Shape, key: string, scenario: string, which: "coldSeconds" | "warmSeconds") => {
  const h = find(shape, "hokan-memory-postgres", scenario)?.[which];
  const o = find(shape, key, scenario)?.[which];
  return h && o && Number.isFinite(h) && Number.isFinite(o) ? o / h : undefined;
};
const x = (v: number | undefined) => (v === undefined ? "—" : `${v.toFixed(2)}×`);

const lines: string[] = [];
lines.push(
  `Push and restore by document shape, N = ${N.toLocaleString("en-US")}, docs/s cold / warm (${PROCESSES} fresh processes × ${RUNS} runs; cold: the first run of each); "Hokan ×": Hokan's throughput over the row's, cold / warm.`,
  "",
  "| shape | system | push docs/s | Hokan × | restore docs/s | Hokan × |",
  "| --- | --- | ---: | ---: | ---: | ---: |",
);
for (const shape of shapes)
  for (const key of SYSTEMS_RUN) {
    const p = find(shape, key, "push");
    const r = find(shape, key, "restore");
    const ratio = (scenario: string) =>
      key === "hokan-memory-postgres"
        ? ""
        : `${x(times(shape, key, scenario, "coldSeconds"))} / ${x(times(shape, key, scenario, "warmSeconds"))}`;
    lines.push(
      `| ${shape} | ${SYSTEMS[key]?.label ?? key} | ${p ? `${rate(p.coldSeconds)} / ${rate(p.warmSeconds)}` : "failed"} | ${ratio("push")} | ${r ? `${rate(r.coldSeconds)} / ${rate(r.warmSeconds)}` : "failed"} | ${ratio("restore")} |`,
    );
  }

/** Issue 23's targets, warm (the cold figures are beside them in the table). */
const goals: string[] = [];
const say = (what: string, value: number | undefined, goal: string, met: (v: number) => boolean) => {
  if (value !== undefined)
    goals.push(`${met(value) ? "met    " : "NOT MET"}  ${what}: ${value.toFixed(2)} (${goal})`);
};
for (const shape of shapes) {
  for (const which of ["warmSeconds", "coldSeconds"] as const) {
    const w = which === "warmSeconds" ? "warm" : "cold";
    say(
      `${shape}, ${w}: push, Hokan ÷ RxDB`,
      times(shape, "rxdb-memory", "push", which),
      "≥ 1.5",
      (v) => v >= 1.5,
    );
    say(
      `${shape}, ${w}: push, Hokan ÷ RxDB without its stream`,
      times(shape, "rxdb-memory-nostream", "push", which),
      "≥ 1.5",
      (v) => v >= 1.5,
    );
    say(
      `${shape}, ${w}: push, Hokan ÷ PouchDB`,
      times(shape, "pouchdb", "push", which),
      "≥ 4",
      (v) => v >= 4,
    );
    const floorPush = times(shape, "floor-http-postgres", "push", which);
    say(`${shape}, ${w}: push, Hokan time ÷ floor time`, floorPush && 1 / floorPush, "≤ 2", (v) => v <= 2);
    const floorRestore = times(shape, "floor-http-postgres", "restore", which);
    say(
      `${shape}, ${w}: restore, Hokan time ÷ floor time`,
      floorRestore && 1 / floorRestore,
      "≤ 1.25",
      (v) => v <= 1.25,
    );
  }
}

console.log(`\n${lines.join("\n")}`);
console.log(`\nTargets${quick ? " (a quick run judges nothing)" : ""}:\n${goals.join("\n")}`);
const file = save(quick ? "shapes-quick" : "shapes", results as never, {
  n: N,
  processes: PROCESSES,
  runs: RUNS,
  targets: goals,
  table: lines,
});
console.log(`\nsaved ${file}`);
if (results.some((r) => r.error)) process.exit(1);
