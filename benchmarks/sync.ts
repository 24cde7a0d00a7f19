/**
 * The sync benchmark: Hokan and the systems users would pick instead, each case in its own process (so peak memory is
 * its own), the same workload, one table, one JSON file and one chart. See docs/performance.md.
 *
 *   pnpm bench                      # everything (about 11 minutes)
 *   pnpm bench -- --quick           # a smoke run: small N, one run each (it must execute, not judge)
 *   node --import tsx sync.ts --only hokan-memory-postgres,rxdb-memory --scenarios push
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { save } from "./harness.js";
import { chartRows, renderChart } from "./sync/chart.js";
import { runCase } from "./sync/run-case.js";
import { SYSTEMS } from "./sync/systems.js";
import { CONFLICT_DOCS, type Scenario } from "./sync/workload.js";

const { values } = parseArgs({
  // `pnpm bench -- --quick` passes the `--` along.
  args: process.argv.slice(2).filter((a) => a !== "--"),
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    scenarios: { type: "string" },
    timeout: { type: "string" },
  },
});
const quick = values.quick ?? false;
const only = values.only?.split(",");
const scenarios = values.scenarios?.split(",") as Scenario[] | undefined;
const timeoutS = Number(values.timeout ?? (quick ? 120 : 240));
const liveSamples = quick ? 20 : 200;

interface Case {
  readonly key: string;
  readonly scenario: Scenario;
  readonly n: number;
}

/** The matrix: who runs what at which size. */
function matrix(): Case[] {
  const sizes = quick ? [500] : [10_000, 100_000];
  const cases: Case[] = [];
  const add = (keys: string[], scenario: Scenario, ns: number[]) => {
    for (const n of ns) for (const key of keys) cases.push({ key, scenario, n });
  };
  const peers = ["rxdb-memory", "pouchdb", "yjs"];
  if (quick) {
    add(["hokan-memory-postgres", "hokan-idb-pglite", ...peers, "rxdb-dexie"], "push", sizes);
    add(["hokan-memory-postgres", "hokan-idb-pglite", ...peers], "restore", sizes);
    add(["floor-sql-postgres", "floor-http-postgres-pipelined", "floor-sql-pglite"], "push", sizes);
    add(["floor-http-postgres"], "restore", sizes);
    add(["hokan-memory-postgres", ...peers], "live", [liveSamples]);
    add(["hokan-memory-postgres", ...peers], "conflict", [100]);
    add(["hokan-memory-postgres"], "release", sizes);
  } else {
    const hokan = ["hokan-memory-postgres", "hokan-memory-pglite", "hokan-idb-postgres"];
    add([...hokan, "hokan-idb-pglite", ...peers], "push", [10_000]);
    add([...hokan, ...peers], "push", [100_000]);
    add(["hokan-idb-postgres", "rxdb-dexie"], "push", [2000]);
    add(["rxdb-dexie"], "push", [10_000]);
    add([...hokan, "hokan-idb-pglite", ...peers], "restore", [10_000]);
    add([...hokan, ...peers], "restore", [100_000]);
    const floors = Object.keys(SYSTEMS).filter((k) => k.startsWith("floor"));
    add(floors, "push", sizes);
    add(
      floors.filter((k) => k.startsWith("floor-http")),
      "restore",
      sizes,
    );
    add([...hokan, ...peers], "live", [liveSamples]);
    add(["hokan-memory-postgres", "hokan-idb-postgres", ...peers], "conflict", [CONFLICT_DOCS]);
    add(hokan, "release", [10_000]);
  }
  return cases.filter(
    (c) => (!only || only.includes(c.key)) && (!scenarios || scenarios.includes(c.scenario)),
  );
}

interface Result {
  readonly key: string;
  readonly label: string;
  readonly system: string;
  readonly config: string;
  readonly scenario: Scenario;
  readonly n: number;
  readonly runs: number;
  readonly seconds: number[];
  readonly medianSeconds: number;
  readonly docsPerSecond: number;
  readonly peakRssMb: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  readonly converged?: boolean;
  readonly timedOut?: boolean;
  readonly error?: string;
}

const cases = matrix();
const results: Result[] = [];
const started = performance.now();
for (const [i, c] of cases.entries()) {
  const runs = quick || c.n > 10_000 ? 1 : 3;
  const label = SYSTEMS[c.key]?.label ?? c.key;
  process.stdout.write(`[${i + 1}/${cases.length}] ${label}: ${c.scenario}, N = ${c.n} … `);
  const ran = runCase({
    system: c.key,
    scenario: c.scenario,
    n: c.n,
    runs,
    timeoutS,
    env: { BENCH_LIVE_SAMPLES: String(liveSamples) },
  });
  const timedOut = ran.timedOut;
  if (ran.result) {
    const r = ran.result as unknown as Omit<Result, "label">;
    results.push({ ...r, label });
    const latency = r.p50Ms === undefined ? "" : `, p50 ${r.p50Ms.toFixed(1)} ms`;
    console.log(
      `${r.medianSeconds.toFixed(3)} s (${Math.round(r.docsPerSecond).toLocaleString("en-US")} docs/s${latency})`,
    );
  } else {
    const error = timedOut ? `over ${timeoutS} s` : (ran.error as string);
    console.log(timedOut ? `stopped after ${timeoutS} s` : `FAILED\n${error}`);
    results.push({
      key: c.key,
      label,
      system: label,
      config: "",
      scenario: c.scenario,
      n: c.n,
      runs,
      seconds: [],
      medianSeconds: Number.NaN,
      docsPerSecond: Number.NaN,
      peakRssMb: 0,
      ...(timedOut ? { timedOut: true } : { error }),
    });
  }
}

/** The Hokan row a peer is compared with: same scenario and N, same kind of client storage. */
function hokanFor(r: Result): Result | undefined {
  const ref =
    r.key === "rxdb-dexie" ? "hokan-idb-postgres" : quick ? "hokan-memory-postgres" : "hokan-memory-postgres";
  return results.find(
    (h) => h.key === ref && h.scenario === r.scenario && h.n === r.n && !h.error && !h.timedOut,
  );
}
/** How many times faster Hokan is than `r` (throughput; for `live`, latency). */
function speedUp(r: Result): number | undefined {
  const h = hokanFor(r);
  if (!h || r.key.startsWith("hokan") || !Number.isFinite(r.docsPerSecond)) return undefined;
  if (r.scenario === "live") return r.p50Ms && h.p50Ms ? r.p50Ms / h.p50Ms : undefined;
  return h.docsPerSecond / r.docsPerSecond;
}

const header = [
  "system",
  "scenario",
  "N",
  "runs",
  "median s",
  "docs/s",
  "p50 / p99 ms",
  "peak RSS MB",
  "Hokan ×",
];
const table = results.map((r) => {
  const x = speedUp(r);
  return [
    r.label,
    r.scenario + (r.converged === false ? " (DIVERGED)" : ""),
    r.n.toLocaleString("en-US"),
    String(r.runs),
    r.timedOut ? `> ${timeoutS}` : r.error ? "failed" : r.medianSeconds.toFixed(3),
    Number.isFinite(r.docsPerSecond) && r.scenario !== "live"
      ? Math.round(r.docsPerSecond).toLocaleString("en-US")
      : "",
    r.p50Ms === undefined ? "" : `${r.p50Ms.toFixed(1)} / ${(r.p99Ms ?? 0).toFixed(1)}`,
    r.peakRssMb ? String(r.peakRssMb) : "",
    x === undefined ? "" : `${x.toFixed(2)}×`,
  ];
});
const widths = header.map((h, i) => Math.max(h.length, ...table.map((l) => (l[i] as string).length)));
const fmt = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join("  ");
console.log(`\n${fmt(header)}\n${widths.map((w) => "-".repeat(w)).join("  ")}`);
for (const l of table) console.log(fmt(l));
console.log(
  "\n'Hokan ×': Hokan's throughput (live: latency) over this system's in the same scenario and N — above 1, Hokan is faster.",
);
console.log(
  "Hokan is compared on its memory store with PostgreSQL, or on IndexedDB with PostgreSQL against RxDB on Dexie.",
);

/** Each target of issue 7, measured as a ratio in this run. */
function targets(): string[] {
  const get = (key: string, scenario: Scenario, n: number) =>
    results.find(
      (r) => r.key === key && r.scenario === scenario && r.n === n && Number.isFinite(r.docsPerSecond),
    );
  const best = (keys: string[], scenario: Scenario, n: number) =>
    keys
      .map((k) => get(k, scenario, n))
      .filter((r): r is Result => r !== undefined)
      .sort((a, b) => b.docsPerSecond - a.docsPerSecond)[0];
  const out: string[] = [];
  const say = (what: string, value: number | undefined, goal: string, met: boolean | undefined) => {
    if (value === undefined || met === undefined) return;
    out.push(`${met ? "met    " : "NOT MET"}  ${what}: ${value.toFixed(2)} (${goal})`);
  };
  for (const n of quick ? [500] : [10_000, 100_000]) {
    const hp = get("hokan-memory-postgres", "push", n);
    const fp = best(["floor-http-postgres", "floor-http-postgres-pipelined"], "push", n);
    if (hp && fp)
      say(
        `push N=${n}: best HTTP floor time ÷ Hokan time`,
        fp.docsPerSecond / hp.docsPerSecond,
        "≤ 1.25",
        fp.docsPerSecond / hp.docsPerSecond <= 1.25,
      );
    const hr = get("hokan-memory-postgres", "restore", n);
    const fr = best(["floor-http-postgres", "floor-http-postgres-pipelined"], "restore", n);
    if (hr && fr)
      say(
        `restore N=${n}: HTTP floor ÷ Hokan`,
        fr.docsPerSecond / hr.docsPerSecond,
        "≤ 1.25",
        fr.docsPerSecond / hr.docsPerSecond <= 1.25,
      );
    const rx = get("rxdb-memory", "push", n);
    if (hp && rx)
      say(
        `push N=${n}: Hokan ÷ RxDB (memory)`,
        hp.docsPerSecond / rx.docsPerSecond,
        "≥ 2",
        hp.docsPerSecond / rx.docsPerSecond >= 2,
      );
    const pouch = get("pouchdb", "push", n);
    if (hp && pouch)
      say(
        `push N=${n}: Hokan ÷ PouchDB`,
        hp.docsPerSecond / pouch.docsPerSecond,
        "≥ 5",
        hp.docsPerSecond / pouch.docsPerSecond >= 5,
      );
  }
  const n2k = quick ? 500 : 2000;
  const hi = get("hokan-idb-postgres", "push", n2k) ?? get("hokan-idb-pglite", "push", n2k);
  const rd = get("rxdb-dexie", "push", n2k);
  if (hi && rd)
    say(
      `IndexedDB push N=${n2k}: Hokan ÷ RxDB on Dexie`,
      hi.docsPerSecond / rd.docsPerSecond,
      "≥ 10",
      hi.docsPerSecond / rd.docsPerSecond >= 10,
    );
  const i10 = get("hokan-idb-postgres", "push", 10_000);
  const i100 = get("hokan-idb-postgres", "push", 100_000);
  if (i10 && i100)
    say(
      "IndexedDB push: docs/s at 100k ÷ at 10k (near-linear growth)",
      i100.docsPerSecond / i10.docsPerSecond,
      "≥ 0.8",
      i100.docsPerSecond / i10.docsPerSecond >= 0.8,
    );
  const live = get("hokan-memory-postgres", "live", liveSamples);
  if (live?.p50Ms !== undefined) say("live p50 ms", live.p50Ms, "≤ 10", live.p50Ms <= 10);
  return out;
}
const goals = targets();
if (goals.length)
  console.log(
    `\nTargets (ratios in this run)${quick ? " — a quick run judges nothing" : ""}:\n${goals.join("\n")}`,
  );

const file = save(quick ? "sync-quick" : "sync", results as never, {
  quick,
  timeoutS,
  liveSamples,
  targets: goals,
});
const svg = renderChart(
  chartRows(results),
  `Sync throughput on ${quick ? "a quick run" : "this machine"} (docs ≈ 1 KB, batches of 500)`,
);
writeFileSync(file.replace(/\.json$/, ".svg"), svg);
if (!quick && !only && !scenarios) {
  mkdirSync(new URL("../docs/images/", import.meta.url).pathname, { recursive: true });
  writeFileSync(new URL("../docs/images/sync-benchmark.svg", import.meta.url).pathname, svg);
}
console.log(
  `\nsaved ${file} and its chart (.svg) in ${((performance.now() - started) / 60000).toFixed(1)} min`,
);
const broken = results.filter((r) => r.error || r.converged === false || (quick && r.timedOut));
if (broken.length) {
  console.error(`${broken.length} case(s) failed: ${broken.map((r) => `${r.key} ${r.scenario}`).join(", ")}`);
  process.exit(1);
}
