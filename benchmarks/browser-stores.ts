/**
 * The stores in Chromium: the engine writing N changes offline (one bulkWrite) and restoring N documents from an
 * in-memory server, on SQLite compiled to WebAssembly over the origin private file system (sqlite-wasm, opfs-sahpool)
 * and on Dexie over IndexedDB, both in one module worker of one page, median of runs after a warm-up.
 *
 *   node --import tsx --conditions=hokan-source browser-stores.ts [--quick]
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { CHROMIUM } from "../vitest.shared.js";
import { BROWSER_BUNDLE, printTable, type Row, save } from "./harness.js";

const quick = process.argv.includes("--quick");
const N = quick ? 500 : 10_000;
const RUNS = quick ? 1 : 3;

const dir = mkdtempSync(join(tmpdir(), "hokan-bench-stores-"));
await build({
  ...BROWSER_BUNDLE,
  entryPoints: [fileURLToPath(new URL("./browser/stores-worker.ts", import.meta.url))],
  outfile: join(dir, "worker.js"),
  logLevel: "error",
});
// sqlite-wasm loads its .wasm from next to its module: the bundle's folder.
const wasm = join(dirname(createRequire(import.meta.url).resolve("@sqlite.org/sqlite-wasm")), "sqlite3.wasm");
copyFileSync(wasm, join(dir, "sqlite3.wasm"));
writeFileSync(join(dir, "index.html"), "<!doctype html><title>stores</title>");
const types: Record<string, string> = { js: "text/javascript", wasm: "application/wasm", html: "text/html" };
const server = createServer((req, res) => {
  const name = (req.url ?? "/").split("?")[0]?.slice(1) || "index.html";
  if (!/^[\w.-]+$/.test(name)) return void res.writeHead(404).end();
  try {
    const body = readFileSync(join(dir, name));
    res.writeHead(200, { "content-type": types[name.split(".").pop() ?? ""] ?? "application/octet-stream" });
    res.end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const browser = await chromium.launch({ executablePath: CHROMIUM.executablePath, args: [...CHROMIUM.args] });
try {
  const page = await browser.newPage();
  await page.goto(`${origin}/`);
  const answer = await page.evaluate(
    ({ n, runs }) =>
      new Promise<{ results?: { store: string; writeMs: number; restoreMs: number }[]; error?: string }>(
        (resolve) => {
          const worker = new Worker("/worker.js", { type: "module" });
          worker.onmessage = (e) => resolve(e.data);
          worker.onerror = (e) => resolve({ error: e.message });
          worker.postMessage({ n, runs });
        },
      ),
    { n: N, runs: RUNS },
  );
  if (!answer.results) throw new Error(`the worker failed: ${answer.error}`);
  const dexie = answer.results.find((r) => r.store.startsWith("Dexie"));
  const scenarios = [
    ["write N changes (one bulkWrite, offline)", "writeMs"],
    ["restore N documents (pages of 500)", "restoreMs"],
  ] as const;
  const rows: Row[] = answer.results.flatMap((r) =>
    scenarios.map(([scenario, key]) => ({
      store: r.store,
      scenario,
      n: N,
      runs: RUNS,
      medianSeconds: r[key] / 1000,
      docsPerSecond: N / (r[key] / 1000),
      peakRssMb: 0,
      ...(dexie && r !== dexie ? { ratio: r[key] / dexie[key], baseline: "of Dexie's time" } : {}),
    })),
  );
  console.log(`\nStores in Chromium ${browser.version()}, in a module worker (peak RSS not measured)\n`);
  printTable(rows);
  console.log(
    `\nsaved ${save(quick ? "browser-stores-quick" : "browser-stores", rows, { N, runs: RUNS, quick })}`,
  );
} finally {
  await browser.close();
  server.close();
  rmSync(dir, { recursive: true, force: true });
}
