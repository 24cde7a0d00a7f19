/**
 * Does gzip of push bodies pay? Size and CPU time of compressing a push batch of app-like JSON, and what it saves at
 * mobile and broadband speeds; the transport compresses bodies from 16 KiB by default.
 *
 *   pnpm bench (runs it with the others)
 */
import { median, printTable, type Row, save } from "./harness.js";

const quick = process.argv.includes("--quick");
const RUNS = quick ? 3 : 15;
const BATCH = 500;

/** Documents shaped like app settings and consent state: varied keys and values, not a repeated filler. */
function batch(seed: number): string {
  let x = seed;
  const rnd = () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
  const themes = ["light", "dark", "system", "sepia"];
  const changes = Array.from({ length: BATCH }, (_, i) => ({
    collection: i % 5 === 0 ? "consent" : "settings",
    id: `doc-${seed}-${i}`,
    changeId: Math.floor(rnd() * 2 ** 48).toString(16),
    epoch: 1,
    baseRev: Math.floor(rnd() * 5),
    hlc: `00179556${String(Math.floor(rnd() * 1e7)).padStart(7, "0")}:000000:device-${Math.floor(rnd() * 100)}`,
    data: {
      theme: themes[Math.floor(rnd() * themes.length)],
      fontSize: 10 + Math.floor(rnd() * 12),
      notifications: { mail: rnd() > 0.5, news: rnd() > 0.5, quietHours: [22, 7] },
      signature: `Sent from my phone — ${Math.floor(rnd() * 1e9).toString(36)}`,
      recentFolders: Array.from({ length: 5 }, () => `folder-${Math.floor(rnd() * 1000)}`),
      tos: { version: 3, acceptedAt: 1_795_000_000_000 + Math.floor(rnd() * 1e9) },
      locale: rnd() > 0.3 ? "ja-JP" : "en-US",
      lastOpenedAt: 1_795_564_800_000 + Math.floor(rnd() * 1e8),
    },
  }));
  return JSON.stringify({
    scope: { appVersion: "3.0.0", platform: "android" },
    idempotencyKey: `k-${seed}`,
    changes,
  });
}

async function gzip(text: string): Promise<number> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

const sizes: { raw: number; zipped: number; ms: number }[] = [];
for (let run = 0; run < RUNS; run++) {
  const body = batch(run + 1);
  const start = performance.now();
  const zipped = await gzip(body);
  sizes.push({ raw: body.length, zipped, ms: performance.now() - start });
}
const raw = median(sizes.map((s) => s.raw));
const zipped = median(sizes.map((s) => s.zipped));
const cpuMs = median(sizes.map((s) => s.ms));
const rows: Row[] = [];
for (const [link, mbit] of [
  ["mobile 10 Mbit/s", 10],
  ["broadband 100 Mbit/s", 100],
  ["datacentre 1 Gbit/s", 1000],
] as const) {
  const plain = (raw * 8) / (mbit * 1e6);
  const packed = (zipped * 8) / (mbit * 1e6) + cpuMs / 1000;
  rows.push({
    store: link,
    scenario: `push body ${Math.round(raw / 1024)} KiB → gzip ${Math.round(zipped / 1024)} KiB (${cpuMs.toFixed(1)} ms CPU)`,
    n: BATCH,
    runs: RUNS,
    medianSeconds: packed,
    docsPerSecond: BATCH / packed,
    peakRssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
    ratio: plain / packed,
    baseline: "faster than uncompressed",
  });
}
printTable(rows);
console.log(
  `\nsaved ${save(quick ? "compression-quick" : "compression", rows, { batch: BATCH, runs: RUNS, raw, zipped, cpuMs })}`,
);
