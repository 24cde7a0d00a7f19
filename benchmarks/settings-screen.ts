/**
 * The settings screen's first paint in Chromium: each load in a fresh browser context (an empty cache, as a first
 * visit), against the demo's real server on PGlite in memory. It times, from the navigation's start, the first
 * contentful paint (the screen's shell) and the moment the backed-up apps list is drawn (the hub has answered). Three
 * ways: the screen built for production; the same page with its script refused (the baseline: what the shell alone
 * costs in this browser); and Vite's dev server (`pnpm start`), whose first load also compiles the modules.
 *
 *   node --import tsx --conditions=hokan-source settings-screen.ts [--quick]
 */
import { chromium } from "playwright-core";
import { startDemo } from "../packages/demo/demo-server.js";
import { CHROMIUM } from "../vitest.shared.js";
import { median, save } from "./harness.js";

const quick = process.argv.includes("--quick");
const LOADS = quick ? 3 : 9;

interface Load {
  readonly paintMs: number;
  readonly listMs: number;
}

const browser = await chromium.launch({ executablePath: CHROMIUM.executablePath, args: [...CHROMIUM.args] });

/** One first visit: a fresh context, the page loaded, until the list is drawn (or, without script, the shell). */
async function load(url: string, withScript: boolean): Promise<Load> {
  const context = await browser.newContext({ viewport: { width: 360, height: 800 } });
  try {
    if (!withScript) await context.route("**/*.{js,ts}", (route) => route.abort());
    // The moment the list's first row appears, taken in the page as it happens.
    await context.addInitScript(() => {
      const w = window as unknown as { listAt?: number };
      new MutationObserver((_, observer) => {
        if (document.querySelector('[data-testid="app-row"]')) {
          w.listAt = performance.now();
          observer.disconnect();
        }
      }).observe(document, { childList: true, subtree: true });
    });
    const page = await context.newPage();
    const deadline = Date.now() + 60_000;
    await page.goto(url, { waitUntil: "load" });
    if (withScript) await page.waitForFunction(() => (window as { listAt?: number }).listAt !== undefined);
    // The paint entry is queued a frame after the paint itself.
    for (;;) {
      const times = await page.evaluate(() => ({
        paint: performance.getEntriesByName("first-contentful-paint")[0]?.startTime,
        list: (window as { listAt?: number }).listAt,
      }));
      if (times.paint !== undefined) return { paintMs: times.paint, listMs: times.list ?? Number.NaN };
      if (Date.now() > deadline) throw new Error(`no first contentful paint at ${url}`);
      await page.waitForTimeout(20);
    }
  } finally {
    await context.close();
  }
}

interface Result {
  readonly screen: string;
  readonly loads: number;
  readonly firstLoad?: Load;
  readonly medianPaintMs: number;
  readonly medianListMs: number;
}

async function measureScreen(screen: string, built: boolean, withScript: boolean): Promise<Result> {
  const demo = await startDemo({ built, dataDir: "memory://" });
  try {
    // Dev: the first load also waits for Vite to compile the modules; it is reported apart and not in the median.
    const firstLoad = built ? undefined : await load(demo.url, withScript);
    const loads: Load[] = [];
    for (let i = 0; i < LOADS; i++) loads.push(await load(demo.url, withScript));
    return {
      screen,
      loads: LOADS,
      ...(firstLoad ? { firstLoad } : {}),
      medianPaintMs: median(loads.map((l) => l.paintMs)),
      medianListMs: median(loads.map((l) => l.listMs)),
    };
  } finally {
    await demo.close();
  }
}

try {
  const results = [
    await measureScreen("built, its script refused (the shell alone: baseline)", true, false),
    await measureScreen("built for production", true, true),
    await measureScreen("Vite dev server (pnpm start)", false, true),
  ];
  const baseline = results[0] as Result;
  const ms = (n: number) => (Number.isNaN(n) ? "—" : `${Math.round(n)} ms`);
  console.log(
    `\nThe settings screen in Chromium ${browser.version()}, 360 px, each load a first visit (median of ${LOADS})\n`,
  );
  const header = ["screen", "first paint", "× baseline", "list drawn", "first load ever (paint / list)"];
  const lines = results.map((r) => [
    r.screen,
    ms(r.medianPaintMs),
    `${(r.medianPaintMs / baseline.medianPaintMs).toFixed(2)}×`,
    ms(r.medianListMs),
    r.firstLoad ? `${ms(r.firstLoad.paintMs)} / ${ms(r.firstLoad.listMs)}` : "",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
  const fmt = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join("  ");
  console.log(fmt(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const l of lines) console.log(fmt(l));
  console.log(
    `\nsaved ${save(quick ? "settings-screen-quick" : "settings-screen", results, { loads: LOADS, quick, width: 360 })}`,
  );
} finally {
  await browser.close();
}
