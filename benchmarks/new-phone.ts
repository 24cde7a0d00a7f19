/**
 * A new phone: the account holds 50 apps × 20 settings documents of about 1 KB, and a fresh device restores them all
 * through the device hub — from `setAccount` (the user signs in) until every app holds every document — on loopback
 * against hokan-server on PostgreSQL:
 *
 * - in Node, the phone's store the Dexie store on fake-indexeddb, against the server started by its CLI;
 * - in Chromium, on its real IndexedDB, against the server in this process (which also serves the page).
 *
 * The baseline in the same run is the floor of the same restore: one bare pull request per app, side by side, over
 * the same HTTP, each app's documents written to the same kind of store in one transaction. Each figure is the median
 * of 3 warm runs (a phone whose hub is loaded); the first, cold run is reported too.
 *
 *   node --import tsx --conditions=hokan-source new-phone.ts [--quick]
 */
import { rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  buildServer,
  createVerifier,
  loadRegistry,
  migrate,
  openPostgres,
  signDevelopmentToken,
} from "@hokan/server";
import { scratchDatabase } from "@hokan/server/testing";
import { DexieStore } from "@hokan/storage";
import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import { chromium } from "playwright-core";
import { CHROMIUM } from "../vitest.shared.js";
import { median, pageServer, save } from "./harness.js";
import {
  APPS,
  appIds,
  DOCUMENTS,
  floorRestore,
  type PhoneTimes,
  restoreNewPhone,
  SCOPE,
  settings,
} from "./new-phone/phone.js";
import { spawnHokanServer, stop, stopAll } from "./processes.js";

const quick = process.argv.includes("--quick");
const RUNS = quick ? 1 : 3;
const SECRET = "hokan-new-phone-secret-0123456789abcdef0123";
const DEADLINE = setTimeout(() => {
  console.error("new-phone: over its time limit");
  stopAll();
  process.exit(1);
}, 300_000);

const registryFile = join(tmpdir(), `hokan-new-phone-registry-${process.pid}.json`);
writeFileSync(
  registryFile,
  JSON.stringify({
    apps: appIds.map((appId) => ({ appId, platform: "android", capabilities: ["backup", "restore"] })),
  }),
);
const scratch = await scratchDatabase("postgres", { prefix: "hokan_new_phone" });
await migrate(scratch.db);
await scratch.db.close();
const server = await spawnHokanServer([
  ...["--database-url", scratch.url as string, "--registry", registryFile, "--jwt-secret", SECRET],
  ...["--rate-limit", "1000000/1000000"],
]);

async function call(base: string, path: string, token: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

let accounts = 0;
/** An account backed up by its old phone (one push per app); its device token. */
async function seed(): Promise<{ account: string; token: string }> {
  const account = `new-phone-${++accounts}`;
  const token = await signDevelopmentToken(SECRET, { account, device: true, expiresIn: "1h" });
  for (const [a, appId] of appIds.entries()) {
    await call(server.url, `/v1/apps/${appId}/push`, token, {
      scope: SCOPE,
      idempotencyKey: `seed-${account}-${a}`,
      changes: Array.from({ length: DOCUMENTS }, (_, i) => ({
        collection: "settings",
        id: `s${i}`,
        changeId: `seed-${account}-${a}-${i}`,
        epoch: 1,
        baseRev: 0,
        hlc: `${String(Date.now()).padStart(15, "0")}:000000:oldphone`,
        data: settings(a, i),
      })),
    });
  }
  return { account, token };
}

interface Figures {
  readonly cold: PhoneTimes;
  readonly runs: readonly PhoneTimes[];
  readonly totalMs: number;
  readonly setAccountMs: number;
  readonly registerMs: number;
}
const figures = (cold: PhoneTimes, runs: readonly PhoneTimes[]): Figures => ({
  cold,
  runs,
  totalMs: median(runs.map((r) => r.totalMs)),
  setAccountMs: median(runs.map((r) => r.setAccountMs)),
  registerMs: median(runs.map((r) => r.registerMs)),
});

/** The phone in Node, on fake-indexeddb: a cold run, then the warm ones, each against its floor. */
async function inNode(): Promise<{ phone: Figures; floorMs: number }> {
  const runs: PhoneTimes[] = [];
  const floors: number[] = [];
  let cold: PhoneTimes | undefined;
  for (let i = 0; i <= RUNS; i++) {
    const { account, token } = await seed();
    const store = new DexieStore({ indexedDB: new IDBFactory(), IDBKeyRange, name: `phone-${accounts}` });
    const times = await restoreNewPhone({
      store,
      baseUrl: server.url,
      token,
      account,
      deviceId: `phone-${i}`,
    });
    await store.close();
    const floorStore = new DexieStore({
      indexedDB: new IDBFactory(),
      IDBKeyRange,
      name: `floor-${accounts}`,
    });
    const bare = await floorRestore(floorStore, server.url, token);
    await floorStore.close();
    if (i === 0) cold = times;
    else {
      runs.push(times);
      floors.push(bare);
    }
  }
  return { phone: figures(cold as PhoneTimes, runs), floorMs: median(floors) };
}

/** The phone in Chromium, on IndexedDB: the page is served by a server in this process on the same database. */
async function inChromium(): Promise<{ phone: Figures; floorMs: number }> {
  const servePage = await pageServer(new URL("./browser/new-phone-page.ts", import.meta.url));
  const db = await openPostgres(scratch.url as string);
  const local = await buildServer({
    db,
    registry: await loadRegistry(registryFile),
    verify: await createVerifier({ secret: SECRET }),
    rateLimit: { perSecond: 1e6, burst: 1e6 },
    logger: false,
  });
  servePage(local.app.server);
  await local.app.listen({ host: "127.0.0.1", port: 0 });
  const base = `http://127.0.0.1:${(local.app.server.address() as AddressInfo).port}`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM.executablePath,
    args: [...CHROMIUM.args],
  });
  try {
    const runs: PhoneTimes[] = [];
    let cold: PhoneTimes | undefined;
    const context = await browser.newContext();
    const tab = await context.newPage();
    const errors: string[] = [];
    tab.on("pageerror", (e) => errors.push(e.message));
    await tab.goto(`${base}/bench/`);
    await tab
      .waitForFunction(() => "newPhone" in globalThis)
      .catch((e: unknown) => {
        throw new Error(`the page did not load: ${errors.join("; ") || String(e)}`);
      });
    const floors: number[] = [];
    type Page = {
      newPhone: (a: string, t: string) => Promise<PhoneTimes>;
      floor: (t: string) => Promise<number>;
    };
    for (let i = 0; i <= RUNS; i++) {
      const { account, token } = await seed();
      const times = await tab.evaluate(([a, t]) => (globalThis as unknown as Page).newPhone(a, t), [
        account,
        token,
      ] as const);
      const bare = await tab.evaluate((t) => (globalThis as unknown as Page).floor(t), token);
      if (i === 0) cold = times;
      else {
        runs.push(times);
        floors.push(bare);
      }
    }
    await context.close();
    return { phone: figures(cold as PhoneTimes, runs), floorMs: median(floors) };
  } finally {
    await browser.close();
    await local.app.close();
    await db.close();
  }
}

const ms = (v: number) => `${Math.round(v).toLocaleString("en-US")} ms`;
try {
  const node = await inNode();
  const browser = await inChromium();
  const line = (name: string, f: Figures, floorMs?: number) =>
    `| ${name} | ${ms(f.totalMs)} | ${ms(f.cold.totalMs)} | ${ms(f.registerMs)} | ${floorMs === undefined ? "—" : `${ms(floorMs)} (${(f.totalMs / floorMs).toFixed(2)}×)`} |`;
  console.log(
    `\nA new phone: ${APPS} apps × ${DOCUMENTS} documents of ~1 KB, from setAccount until every app holds them (loopback, PostgreSQL); median of ${RUNS} warm runs\n`,
  );
  console.log(
    "| phone's store | restored (warm) | restored (cold) | of which registering the apps | floor |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: |");
  console.log(line("Dexie on fake-indexeddb (Node)", node.phone, node.floorMs));
  console.log(line("Dexie on IndexedDB (Chromium)", browser.phone, browser.floorMs));
  const file = save(
    quick ? "new-phone-quick" : "new-phone",
    [{ node: node.phone, floorMs: node.floorMs, browser: browser.phone, browserFloorMs: browser.floorMs }],
    {
      apps: APPS,
      documents: DOCUMENTS,
      runs: RUNS,
    },
  );
  console.log(`\nsaved ${file}`);
} finally {
  clearTimeout(DEADLINE);
  await stop(server.child);
  rmSync(registryFile, { force: true });
  await scratch.drop().catch(() => undefined);
}
