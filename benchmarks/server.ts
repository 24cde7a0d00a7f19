/**
 * Server benchmarks: push and pull documents per second through one server process over HTTP on 127.0.0.1, on PGlite
 * and on PostgreSQL, against the floor of a bare bulk insert into the same database in the same run; and memory per
 * open live connection.
 *
 *   pnpm bench            # N = 10,000 documents of ~1 KB, batches of 500, median of 3 runs
 *   pnpm bench -- --quick # N = 1,000, one run
 */
import type { AddressInfo } from "node:net";
import { openRegistry } from "@hokan/core/testing";
import { buildServer, createVerifier, migrate, parseRegistry, signDevelopmentToken } from "@hokan/server";
import { scratchDatabase } from "@hokan/server/testing";
import { createHttpTransport } from "@hokan/transport";
import { median, printTable, type Row, save } from "./harness.js";

const quick = process.argv.includes("--quick");
const N = quick ? 1000 : 10_000;
const RUNS = quick ? 1 : 3;
const BATCH = 500;
const LIVE = quick ? 50 : 500;
const SECRET = "benchmark-secret-0123456789abcdef0123456789";
const SCOPE = { appId: "jp.example.bench", appVersion: "1.0.0", platform: "web" as const };
const doc = (i: number) => ({ i, text: "x".repeat(960), at: 1_795_564_800_000 + i });

const KINDS = [
  { name: "PGlite (memory)", open: () => scratchDatabase("pglite") },
  { name: "PostgreSQL 127.0.0.1", open: () => scratchDatabase("postgres", { prefix: "hokan_bench" }) },
];

const rows: Row[] = [];
for (const kind of KINDS) {
  const { db, drop } = await kind.open();
  await migrate(db);
  const server = await buildServer({
    db,
    registry: parseRegistry({ apps: openRegistry([SCOPE.appId]) }),
    verify: await createVerifier({ secret: SECRET }),
    rateLimit: { perSecond: 1e6, burst: 1e6 },
    bodyLimit: 64 * 2 ** 20,
  });
  await server.app.listen({ host: "127.0.0.1", port: 0 });
  const url = `http://127.0.0.1:${(server.app.server.address() as AddressInfo).port}`;

  // The floor: the same documents bulk-inserted straight into the same database, no HTTP, no decisions.
  await db.query(
    "CREATE TABLE IF NOT EXISTS bench_floor (account_id text, id text, data jsonb, PRIMARY KEY (account_id, id))",
  );
  const floorTimes: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const account = `floor-${run}`;
    const start = performance.now();
    for (let b = 0; b < N; b += BATCH) {
      const ids = Array.from({ length: Math.min(BATCH, N - b) }, (_, k) => `d${b + k}`);
      await db.query(
        "INSERT INTO bench_floor SELECT $1, id, data::jsonb FROM unnest($2::text[], $3::text[]) AS t(id, data)",
        [account, ids, ids.map((_, k) => JSON.stringify(doc(b + k)))],
      );
    }
    floorTimes.push((performance.now() - start) / 1000);
  }
  const floor = median(floorTimes);
  rows.push({
    store: kind.name,
    scenario: "floor: bare bulk insert",
    n: N,
    runs: RUNS,
    medianSeconds: floor,
    docsPerSecond: N / floor,
    peakRssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
  });

  const pushTimes: number[] = [];
  const pullTimes: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const account = `bench-${run}`;
    const t = createHttpTransport({ baseUrl: url, token: () => signDevelopmentToken(SECRET, { account }) });
    const first = await t.pull({ scope: SCOPE, checkpoint: { epoch: 0, seq: 0 }, limit: 1 });
    let start = performance.now();
    for (let b = 0; b < N; b += BATCH) {
      const res = await t.push({
        scope: SCOPE,
        idempotencyKey: `bench-${run}-${b}`,
        changes: Array.from({ length: Math.min(BATCH, N - b) }, (_, k) => ({
          collection: "settings",
          id: `d${b + k}`,
          changeId: `c-${run}-${b + k}`,
          epoch: first.epoch,
          baseRev: 0,
          hlc: "001795564800000:000000:bench",
          data: doc(b + k),
        })),
      });
      if (res.results.some((r) => r.status !== "accepted"))
        throw new Error("a benchmark push was not accepted");
    }
    pushTimes.push((performance.now() - start) / 1000);
    start = performance.now();
    let checkpoint = { epoch: 0, seq: 0 };
    let got = 0;
    for (;;) {
      const page = await t.pull({ scope: SCOPE, checkpoint, limit: 1000 });
      got += page.documents.length;
      checkpoint = page.checkpoint;
      if (!page.more) break;
    }
    if (got !== N) throw new Error(`pulled ${got} of ${N}`);
    pullTimes.push((performance.now() - start) / 1000);
  }
  const push = median(pushTimes);
  const pull = median(pullTimes);
  const rss = Math.round(process.memoryUsage().rss / 2 ** 20);
  rows.push({
    store: kind.name,
    scenario: `push over HTTP (batches of ${BATCH})`,
    n: N,
    runs: RUNS,
    medianSeconds: push,
    docsPerSecond: N / push,
    peakRssMb: rss,
    ratio: floor / push,
    baseline: "of the floor",
  });
  rows.push({
    store: kind.name,
    scenario: "pull over HTTP (batches of 1,000)",
    n: N,
    runs: RUNS,
    medianSeconds: pull,
    docsPerSecond: N / pull,
    peakRssMb: rss,
    ratio: floor / pull,
    baseline: "of the floor",
  });

  // Memory per live connection, measured in this process (server and clients share it: an upper bound).
  const settleHeap = async () => {
    for (let i = 0; i < 3; i++) {
      globalThis.gc?.();
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await settleHeap();
  const before = process.memoryUsage();
  const controllers: AbortController[] = [];
  const token = await signDevelopmentToken(SECRET, { account: "live" });
  for (let i = 0; i < LIVE; i++) {
    const c = new AbortController();
    controllers.push(c);
    const res = await fetch(`${url}/v1/live?scope=${SCOPE.appId},${SCOPE.platform},${SCOPE.appVersion}`, {
      headers: { authorization: `Bearer ${token}` },
      signal: c.signal,
    });
    void res.body
      ?.getReader()
      .read()
      .catch(() => undefined);
  }
  while (server.hub.connections < LIVE) await new Promise((r) => setTimeout(r, 10));
  await settleHeap();
  const after = process.memoryUsage();
  const used = (m: NodeJS.MemoryUsage) => m.heapUsed + m.external;
  const perConnection = (used(after) - used(before)) / LIVE / 1024;
  rows.push({
    store: kind.name,
    scenario: `live connections: ${perConnection.toFixed(1)} KiB heap each (server and client)`,
    n: LIVE,
    runs: 1,
    medianSeconds: 0,
    docsPerSecond: 0,
    peakRssMb: Math.round(after.rss / 2 ** 20),
  });
  for (const c of controllers) c.abort();
  await server.app.close();
  await drop();
}

printTable(rows);
console.log(
  `\nsaved ${save(quick ? "server-quick" : "server", rows, { N, runs: RUNS, batch: BATCH, live: LIVE, quick })}`,
);
process.exit(0);
