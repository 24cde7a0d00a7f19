/**
 * The browser benchmark: push and restore on Chromium's real IndexedDB — Hokan's DexieStore against RxDB on its
 * Dexie storage — each replicating to its own server on PostgreSQL on 127.0.0.1 (the same servers as `sync.ts`).
 * fake-indexeddb, which `sync.ts` uses in Node, has costs of its own; this is what a web app's users get.
 *
 *   node --import tsx --conditions=hokan-source browser.ts [--quick] [--scenario push|restore] [--n 2000] [--runs 5]
 *     [--shapes text,keys,binary]
 *
 * The documents are the sync benchmark's `text` shape at every N, and its `keys` and `binary` shapes at the largest N
 * (`sync/documents.ts`; every shape at every N with `--shapes` or `--quick`).
 *
 * With `BENCH_PROFILE=/tmp/x.cpuprofile`, the timed part of each page is CPU-profiled into `/tmp/x-<case>.cpuprofile`
 * (`hokanPush`, `rxdbRestore`, …; the last run of each case stays), for `sync/profile-top.mjs`. With `BENCH_TRACE=1`,
 * each Hokan run prints the calls and time of its store's and transport's methods in the timed part.
 *
 * Each server also serves the page (`browser/page.ts`, bundled with esbuild), so the page's requests are
 * same-origin; every case runs in a fresh page (its own IndexedDB database, removed after).
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { MemoryStore } from "@hokan/core/testing";
import { signDevelopmentToken } from "@hokan/server";
import { createHttpTransport } from "@hokan/transport";
import { type Browser, chromium, type Page } from "playwright-core";
import { BehaviorSubject, filter, firstValueFrom } from "rxjs";
import { CHROMIUM } from "../vitest.shared.js";
import { median, pageServer, printTable, type Row, save } from "./harness.js";
import { BATCH, doc, docId, SHAPES, type Shape } from "./sync/documents.js";
import { startHokanServer } from "./sync/hokan.js";
import { benchReplication, SECRET, writeAll } from "./sync/hokan-device.js";
import { startRxServer } from "./sync/rxdb.js";

const { values: args } = parseArgs({
  // `pnpm bench -- --quick` passes the `--` along.
  args: process.argv.slice(2).filter((a) => a !== "--"),
  options: {
    quick: { type: "boolean", default: false },
    /** One scenario only (`push` or `restore`), to measure a change to it. */
    scenario: { type: "string" },
    n: { type: "string" },
    runs: { type: "string" },
    shapes: { type: "string" },
  },
});
const quick = args.quick === true;
const SIZES = args.n ? [Number(args.n)] : quick ? [200] : [2000, 10_000];
const RUNS = args.runs ? Number(args.runs) : quick ? 1 : 3;
/** A case (all its runs) that takes longer is reported as timed out, not waited for. */
const CASE_LIMIT_MS = quick ? 60_000 : 240_000;
/** The shapes measured at size `n`. */
const shapesAt = (n: number): readonly Shape[] =>
  args.shapes
    ? (args.shapes.split(",").filter((s) => SHAPES.includes(s as Shape)) as Shape[])
    : quick || n === Math.max(...SIZES)
      ? SHAPES
      : ["text"];

/** Puts N documents on Hokan's server for `account`, from a Node device (memory store), before a restore. */
async function seedHokan(base: string, account: string, n: number, shape: Shape): Promise<void> {
  const network$ = new BehaviorSubject({ online: true, roaming: false });
  const r = benchReplication({
    store: new MemoryStore(),
    transport: createHttpTransport({
      baseUrl: base,
      token: () => signDevelopmentToken(SECRET, { account }),
      compression: false,
    }),
    account,
    deviceId: `seeder-${account}`,
    settings$: new BehaviorSubject({ backupEnabled: true, overseasEnabled: false }),
    network$,
  });
  await r.start();
  await writeAll(r, n, 0, shape);
  await firstValueFrom(r.status$.pipe(filter((s) => s.pending === 0 && !s.inFlight && s.state === "idle")));
  await r.stop();
}

/** Puts N documents on the RxDB server for `account` through its push endpoint, before a restore. */
async function seedRx(base: string, account: string, n: number, shape: Shape): Promise<void> {
  const now = Date.now();
  for (let b = 0; b < n; b += BATCH) {
    const rows = [];
    for (let i = b; i < Math.min(n, b + BATCH); i++)
      rows.push({ newDocumentState: { id: docId(i), updatedAt: now + i, ...doc(i, 0, shape) } });
    const res = await fetch(`${base}/${account}/push`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(rows),
    });
    if (!res.ok) throw new Error(`seeding RxDB failed: ${res.status}`);
  }
}

type Bench = Record<string, (...args: unknown[]) => Promise<number>>;

/** Opens the page of `base` and runs one of its bench functions on `shape`; the heap the page used, in MB. */
async function inPage(browser: Browser, base: string, shape: Shape, call: string, args: unknown[]) {
  const context = await browser.newContext();
  // Before the page's scripts: its documents module reads the shape once, as it loads.
  await context.addInitScript(
    `globalThis.BENCH_SHAPE = ${JSON.stringify(shape)}; globalThis.BENCH_TRACE = ${process.env.BENCH_TRACE === "1"};`,
  );
  const page: Page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  const profile = process.env.BENCH_PROFILE;
  if (profile) {
    // The page's timed part (between console.profile and profileEnd), as a .cpuprofile for sync/profile-top.mjs.
    const cdp = await context.newCDPSession(page);
    cdp.on("Profiler.consoleProfileFinished", (event) => {
      writeFileSync(
        profile.replace(/(\.cpuprofile)?$/, `-${call}.cpuprofile`),
        JSON.stringify(event.profile),
      );
    });
    await cdp.send("Profiler.enable");
    await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
  }
  try {
    await page.goto(`${base}/bench/`);
    await page
      .waitForFunction(() => "hokanBench" in globalThis)
      .catch((error: unknown) => {
        throw new Error(`the page did not load: ${errors.join("; ") || String(error)}`);
      });
    const seconds = await page.evaluate(
      ([name, params]) =>
        ((globalThis as unknown as { hokanBench: Bench }).hokanBench[name as string] as Bench[string])(
          ...(params as unknown[]),
        ),
      [call, args] as const,
    );
    const heapMb = await page.evaluate(() =>
      Math.round(
        ((performance as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0) / 2 ** 20,
      ),
    );
    if (process.env.BENCH_TRACE === "1") {
      const trace = await page.evaluate(
        () => (globalThis as { hokanTrace?: Record<string, { calls: number; ms: number }> }).hokanTrace ?? {},
      );
      const parts = Object.entries(trace)
        .sort(([, a], [, b]) => b.ms - a.ms)
        .map(([method, t]) => `${method} ${t.calls}× ${Math.round(t.ms)} ms`);
      if (parts.length > 0)
        console.log(`trace ${call} (${shape}, ${Math.round(seconds * 1000)} ms): ${parts.join(", ")}`);
    }
    return { seconds, heapMb };
  } finally {
    await context.close();
  }
}

async function main(): Promise<void> {
  const servePage = await pageServer(new URL("./browser/page.ts", import.meta.url));
  const hokan = await startHokanServer("postgres", servePage);
  const rx = await startRxServer((app) => servePage(app.server));
  const browser = await chromium.launch({
    executablePath: CHROMIUM.executablePath,
    args: [...CHROMIUM.args],
  });
  const rows: (Row & { readonly shape: Shape })[] = [];
  let accounts = 0;
  const token = (account: string) => signDevelopmentToken(SECRET, { account, expiresIn: "1h" });
  type Case = {
    store: string;
    scenario: "push" | "restore";
    run: (n: number, shape: Shape) => Promise<{ seconds: number; heapMb: number }>;
  };
  const cases: Case[] = [
    {
      store: "Hokan, DexieStore",
      scenario: "push",
      run: async (n, shape) => {
        const account = `push-${accounts++}`;
        return inPage(browser, hokan.url, shape, "hokanPush", [account, await token(account), n]);
      },
    },
    {
      store: "RxDB, Dexie storage",
      scenario: "push",
      run: (n, shape) => inPage(browser, rx.base, shape, "rxdbPush", [`push-${accounts++}`, n]),
    },
    {
      store: "Hokan, DexieStore",
      scenario: "restore",
      run: async (n, shape) => {
        const account = `restore-${accounts++}`;
        await seedHokan(hokan.url, account, n, shape);
        return inPage(browser, hokan.url, shape, "hokanRestore", [account, await token(account), n]);
      },
    },
    {
      store: "RxDB, Dexie storage",
      scenario: "restore",
      run: async (n, shape) => {
        const account = `restore-${accounts++}`;
        await seedRx(rx.base, account, n, shape);
        return inPage(browser, rx.base, shape, "rxdbRestore", [account, n]);
      },
    },
  ];
  try {
    for (const n of SIZES) {
      for (const shape of shapesAt(n))
        for (const c of cases.filter((c) => args.scenario === undefined || c.scenario === args.scenario)) {
          const deadline = performance.now() + CASE_LIMIT_MS;
          const times: number[] = [];
          let heap = 0;
          for (let i = 0; i < RUNS && performance.now() < deadline; i++) {
            const { seconds, heapMb } = await c.run(n, shape);
            times.push(seconds);
            heap = Math.max(heap, heapMb);
          }
          const seconds = median(times);
          rows.push({
            store: `${c.store} (Chromium, ${shape})`,
            shape,
            scenario: c.scenario,
            n,
            runs: times.length,
            medianSeconds: seconds,
            docsPerSecond: n / seconds,
            peakRssMb: heap,
          });
        }
    }
  } finally {
    await browser.close();
    await hokan.close();
    await rx.close();
  }
  // Each Hokan row against RxDB's in the same scenario, N and shape.
  const withRatios = rows.map((r) => {
    const peer = rows.find(
      (p) => p.store.startsWith("RxDB") && p.scenario === r.scenario && p.n === r.n && p.shape === r.shape,
    );
    return r.store.startsWith("Hokan") && peer
      ? { ...r, ratio: r.docsPerSecond / peer.docsPerSecond, baseline: "of RxDB" }
      : r;
  });
  console.log(
    `\nBrowser benchmark: Chromium ${browser.version()}, IndexedDB, servers on PostgreSQL (peak = page JS heap MB)\n`,
  );
  printTable(withRatios);
  const partial =
    quick ||
    args.scenario !== undefined ||
    args.n !== undefined ||
    args.runs !== undefined ||
    args.shapes !== undefined;
  if (!partial) console.log(`\nsaved ${save("browser", withRatios, { sizes: SIZES, runs: RUNS })}`);
}

await main();
