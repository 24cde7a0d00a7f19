import { mkdirSync, writeFileSync } from "node:fs";
import type { IncomingMessage, RequestListener, Server, ServerResponse } from "node:http";
import { arch, cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { type BuildOptions, build } from "esbuild";

/** One measured row: documents per second as the median of several runs. */
export interface Row {
  readonly store: string;
  readonly scenario: string;
  readonly n: number;
  readonly runs: number;
  readonly medianSeconds: number;
  readonly docsPerSecond: number;
  readonly peakRssMb: number;
  /** Ratio to the baseline row named in {@link baseline}, measured in the same run. */
  readonly ratio?: number;
  readonly baseline?: string;
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** The value below which `p` percent of `values` lie (NaN for none). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
}

/** Runs `tasks` with at most `width` at once; `check` (a time limit, say) runs before each and may throw. */
export async function pipeline(
  tasks: readonly (() => Promise<unknown>)[],
  width: number,
  check: () => void = () => undefined,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < tasks.length) {
      check();
      await (tasks[next++] as () => Promise<unknown>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, tasks.length) }, lane));
}

/** Runs `fn` `runs` times (after one warm-up unless quick) and returns the median seconds and peak RSS. */
export async function measure(
  runs: number,
  fn: () => Promise<void>,
  warmUp = true,
): Promise<{ seconds: number; peakRssMb: number }> {
  if (warmUp) await fn();
  const times: number[] = [];
  let peak = 0;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    times.push((performance.now() - start) / 1000);
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  return { seconds: median(times), peakRssMb: Math.round(peak / 2 ** 20) };
}

export function printTable(rows: readonly Row[]): void {
  const header = ["store", "scenario", "N", "runs", "median s", "docs/s", "peak RSS MB", "ratio"];
  const lines = rows.map((r) => [
    r.store,
    r.scenario,
    String(r.n),
    String(r.runs),
    r.medianSeconds.toFixed(3),
    Math.round(r.docsPerSecond).toLocaleString("en-US"),
    String(r.peakRssMb),
    r.ratio === undefined ? "" : `${r.ratio.toFixed(2)}× ${r.baseline ?? ""}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
  const fmt = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join("  ");
  console.log(fmt(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const l of lines) console.log(fmt(l));
}

export function save(name: string, rows: readonly object[], options: Record<string, unknown>): string {
  const dir = new URL("./results/", import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  const file = `${dir}${name}-${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
  const machine = {
    node: process.version,
    arch: arch(),
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memGb: Math.round(totalmem() / 2 ** 30),
  };
  writeFileSync(file, `${JSON.stringify({ name, machine, options, rows }, null, 2)}\n`);
  return file;
}

/** How the browser benchmarks bundle what runs in Chromium: one ES module, Hokan from its sources, for production. */
export const BROWSER_BUNDLE: BuildOptions = {
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  conditions: ["hokan-source"],
  define: { "process.env.NODE_ENV": '"production"' },
};

/** Serves a page from a server's own origin: requests under `/bench/` are answered before the server sees them. */
export type PageServer = (server: Server) => void;

/** The page of `entry` as one script (esbuild, for production), and what serves it at `/bench/`. */
export async function pageServer(entry: URL): Promise<PageServer> {
  const bundle = await build({
    ...BROWSER_BUNDLE,
    entryPoints: [fileURLToPath(entry)],
    // Profiled pages keep their functions' names.
    minify: !process.env.BENCH_PROFILE,
    write: false,
    logLevel: "warning",
  });
  const files: Record<string, [string, string]> = {
    "/bench/": [
      "text/html; charset=utf-8",
      '<!doctype html><meta charset="utf-8"><script type="module" src="/bench/page.js"></script>',
    ],
    "/bench/page.js": ["text/javascript; charset=utf-8", bundle.outputFiles[0]?.text ?? ""],
  };
  return (server) => {
    // Hokan's server asks every request for a token: the page's two files are answered ahead of it.
    const handlers = server.listeners("request") as RequestListener[];
    server.removeAllListeners("request");
    server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      const file = files[req.url ?? ""];
      if (!file) {
        for (const handler of handlers) handler(req, res);
        return;
      }
      res.writeHead(200, { "content-type": file[0] });
      res.end(file[1]);
    });
  };
}
