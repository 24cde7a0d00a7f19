/**
 * Operator capacity: hokan-server started by its CLI, as separate processes (1, 2 and 4) on one PostgreSQL, under
 * devices of many accounts simulated by a load generator in processes of its own, all on 127.0.0.1. For each fleet
 * size it reports, per server process and for the fleet:
 *
 * - live channels held (every account has two devices, each with a channel, spread over the processes as a load
 *   balancer would) and the server memory per channel (resident set and JS heap, before and after they opened);
 * - the latency from a write's start on one device to its hint (with the document) on the account's other device,
 *   p50 and p99, while writes flow at a set rate to random accounts;
 * - server CPU per pushed and per restored document (the processes' own CPU time, from their metrics) and documents per
 *   second per core, against the floor's server (bare HTTP + one bulk upsert per batch, a process of its own) under
 *   the same pushes and pulls in the same run.
 *
 *   node --import tsx --conditions=hokan-source capacity.ts [--quick]
 *
 * Every loop is bounded in count and in time; every process it starts is stopped, also when it fails.
 */
import { type ChildProcess, fork, spawn } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { migrate, signDevelopmentToken } from "@hokan/server";
import { scratchDatabase } from "@hokan/server/testing";
import type { Channel, FromDevices, ToDevices } from "./capacity/devices.js";
import { median, percentile, pipeline, save } from "./harness.js";
import {
  children,
  freePort,
  type ServerProcess,
  spawnHokanServer,
  stop,
  stopAll,
  waitForLine,
} from "./processes.js";

const quick = process.argv.includes("--quick");
type Bus = "postgres" | "nats";
// CAPACITY_FLEETS=1:postgres,4:nats runs only those fleets (a run that rewrites the guide's table runs them all).
const chosen = process.env.CAPACITY_FLEETS?.split(",").map((f) => {
  const [processes, bus] = f.split(":");
  return { processes: Number(processes), bus: (bus === "nats" ? "nats" : "postgres") as Bus };
});
const FLEETS: readonly { processes: number; bus: Bus }[] =
  (chosen ?? quick)
    ? [
        { processes: 1, bus: "postgres" },
        { processes: 2, bus: "nats" },
      ]
    : [
        { processes: 1, bus: "postgres" },
        { processes: 2, bus: "postgres" },
        { processes: 4, bus: "postgres" },
        { processes: 4, bus: "nats" },
      ];
const NATS_URL = process.env.HOKAN_TEST_NATS_URL ?? "nats://127.0.0.1:4222";
/** Single-document pushes as fast as the fleet takes them, this many in flight per process, for this long. */
const SATURATION_IN_FLIGHT = 16;
const SATURATION_SECONDS = quick ? 2 : 10;
/** Accounts, each with two devices holding a live channel. */
const ACCOUNTS = quick ? 200 : 5_000;
const WRITES_PER_SECOND = 100;
const LIVE_SECONDS = quick ? 3 : 20;
const PUSH_DOCUMENTS = quick ? 2_000 : 20_000;
const BATCH = 100;
/** Push or pull requests in flight per server process. */
const IN_FLIGHT = 4;
const DEVICE_PROCESSES = 2;
/** The whole run's bound. */
const DEADLINE = Date.now() + (quick ? 180_000 : 1_200_000);

const SECRET = "hokan-capacity-secret-0123456789abcdef0123";
const APP = "jp.example.mail";
const SCOPE = { appVersion: "3.0.0", platform: "android" as const };
const DEVICES = fileURLToPath(new URL("./capacity/devices.ts", import.meta.url));
const FLOOR = fileURLToPath(new URL("./capacity/floor-server.ts", import.meta.url));

const wallMs = () => performance.timeOrigin + performance.now();
const within = (what: string) => {
  if (Date.now() > DEADLINE) throw new Error(`the capacity run passed its time limit during ${what}`);
};

interface CapacityServer extends ServerProcess {
  readonly metricsUrl: string;
}

async function startServer(databaseUrl: string, registry: string, bus: Bus): Promise<CapacityServer> {
  const metricsPort = await freePort();
  const server = await spawnHokanServer([
    ...["--database-url", databaseUrl, "--registry", registry, "--jwt-secret", SECRET],
    ...["--rate-limit", "1000000/1000000", "--live-per-account", "10", "--metrics-port", String(metricsPort)],
    ...(bus === "nats" ? ["--bus", NATS_URL] : []),
  ]);
  return { ...server, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` };
}

/** The samples the run reads from a server's metrics. */
async function scrape(server: CapacityServer): Promise<{
  cpuS: number;
  rss: number;
  heap: number;
  live: number;
  gcOver10ms: number;
  gcOver100ms: number;
}> {
  const text = await (await fetch(server.metricsUrl)).text();
  const value = (name: string) =>
    Number(new RegExp(`^${name} ([0-9.e+-]+)$`, "m").exec(text)?.[1] ?? Number.NaN);
  return {
    cpuS: value("process_cpu_seconds_total"),
    rss: value("process_resident_memory_bytes"),
    heap: value("nodejs_heap_size_used_bytes"),
    live: value("hokan_live_channels"),
    // Garbage collections that paused the process for longer than 10 ms and 100 ms, all kinds together.
    gcOver10ms: gcCount(text, "+Inf") - gcCount(text, "0.01"),
    gcOver100ms: gcCount(text, "+Inf") - gcCount(text, "0.1"),
  };
}

/** Garbage collections of every kind that took at most `le` seconds (Prometheus's cumulative buckets). */
function gcCount(text: string, le: string): number {
  let n = 0;
  for (const m of text.matchAll(/^nodejs_gc_duration_seconds_bucket\{le="([^"]+)",kind="[^"]+"\} (\d+)$/gm))
    if (m[1] === le) n += Number(m[2]);
  return n;
}

type Sample = Awaited<ReturnType<typeof scrape>>;
/** How much a figure of the fleet grew from `start` to `end` (one sample per server process), summed. */
const grown = (end: readonly Sample[], start: readonly Sample[], key: keyof Sample): number =>
  end.reduce((n, h, i) => n + h[key] - (start[i]?.[key] ?? 0), 0);

let changeCounter = 0;
const hlc = () => `${String(Date.now()).padStart(15, "0")}:000000:load`;
/** A settings document of about 1 KB, as an app backs up. */
const settings = (i: number) => ({
  theme: i % 2 ? "dark" : "light",
  locale: "ja-JP",
  notifications: { mail: true, news: i % 3 === 0, quietHours: { from: "22:00", to: "07:00" } },
  note: `settings record ${i} `.padEnd(900, "・"),
});

async function post(url: string, token: string, body: unknown): Promise<Response> {
  const res = await fetch(url, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return res;
}

function pushBody(docs: readonly { id: string; data: unknown }[]) {
  return {
    scope: SCOPE,
    idempotencyKey: `load-${process.pid}-${++changeCounter}`,
    changes: docs.map((d) => ({
      collection: "settings",
      id: d.id,
      changeId: `c-${process.pid}-${++changeCounter}`,
      epoch: 1,
      baseRev: 0,
      hlc: hlc(),
      data: d.data,
    })),
  };
}

interface FleetResult {
  readonly processes: number;
  readonly bus: Bus;
  readonly channels: number;
  readonly channelsPerProcess: readonly number[];
  readonly openSeconds: number;
  readonly rssPerChannelKb: number;
  readonly heapPerChannelKb: number;
  readonly writes: number;
  readonly delivered: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly liveCpuPerSecond: number;
  /** Collections that paused a server process over 10 ms, and over 100 ms, while the writes flowed. */
  readonly liveGcPauses: { readonly over10ms: number; readonly over100ms: number };
  /** Single-document pushes at saturation: per second, server CPU per push, and their hints' latency. */
  readonly saturation: {
    readonly pushesPerSecond: number;
    readonly cpuMicrosPerPush: number;
    readonly latencyP50Ms: number;
    readonly latencyP99Ms: number;
    readonly delivered: number;
  };
  readonly push: Throughput;
  readonly restore: Throughput;
}

interface Throughput {
  readonly documents: number;
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly documentsPerSecond: number;
  /** Documents per second of server CPU: per core. */
  readonly documentsPerCpuSecond: number;
  readonly cpuMicrosPerDocument: number;
}

const throughput = (documents: number, seconds: number, cpuSeconds: number): Throughput => ({
  documents,
  seconds,
  cpuSeconds,
  documentsPerSecond: documents / seconds,
  documentsPerCpuSecond: documents / cpuSeconds,
  cpuMicrosPerDocument: (cpuSeconds * 1e6) / documents,
});

const registryFile = join(tmpdir(), `hokan-capacity-registry-${process.pid}.json`);
writeFileSync(
  registryFile,
  JSON.stringify({
    apps: [
      { appId: APP, platform: "android", capabilities: ["backup", "restore", "bulkBackup", "bulkDelete"] },
    ],
  }),
);

const tokens = await Promise.all(
  Array.from({ length: ACCOUNTS }, (_, a) =>
    signDevelopmentToken(SECRET, { account: `load-${a}`, expiresIn: "3h" }),
  ),
);

async function fleet({ processes, bus }: { processes: number; bus: Bus }): Promise<FleetResult> {
  const scratch = await scratchDatabase("postgres", { prefix: "hokan_capacity" });
  await migrate(scratch.db);
  await scratch.db.close();
  const servers: CapacityServer[] = [];
  const devices: ChildProcess[] = [];
  try {
    for (let i = 0; i < processes; i++)
      servers.push(await startServer(scratch.url as string, registryFile, bus));
    // A device's process by a balancer's round robin: an account's two devices usually on two processes.
    const serverOf = (account: number, device: 0 | 1) =>
      servers[(account * 2 + device) % processes] as CapacityServer;
    const before = await Promise.all(servers.map(scrape));

    // Open every channel, from the device processes.
    const channels: Channel[][] = Array.from({ length: DEVICE_PROCESSES }, () => []);
    for (let a = 0; a < ACCOUNTS; a++) {
      for (const d of [0, 1] as const) {
        (channels[(a * 2 + d) % DEVICE_PROCESSES] as Channel[]).push({
          url: `${serverOf(a, d).url}/v1/live?scope=${APP},${SCOPE.platform},${SCOPE.appVersion}`,
          token: tokens[a] as string,
          writer: d === 0,
        });
      }
    }
    const ask = (child: ChildProcess, message: ToDevices) =>
      new Promise<FromDevices>((resolve) => {
        child.once("message", (m: FromDevices) => resolve(m));
        child.send(message);
      });
    const opening = performance.now();
    const opened = await Promise.all(
      channels.map(async (list) => {
        const child = fork(DEVICES, [], { execArgv: ["--import", "tsx"], detached: true, stdio: "inherit" });
        children.add(child);
        devices.push(child);
        return ask(child, { type: "open", channels: list, width: 50 });
      }),
    );
    const openSeconds = (performance.now() - opening) / 1000;
    const failed = opened.reduce((n, o) => n + (o.type === "opened" ? o.failed : 0), 0);
    if (failed > 0) throw new Error(`${failed} channels did not open`);
    await new Promise((r) => setTimeout(r, 2_000));
    const held = await Promise.all(servers.map(scrape));
    const channelsPerProcess = held.map((h) => h.live);
    const total = channelsPerProcess.reduce((a, b) => a + b, 0);
    const rssPerChannel = grown(held, before, "rss") / Math.max(1, total);
    const heapPerChannel = grown(held, before, "heap") / Math.max(1, total);

    /** After a phase: a second for its last hints, then the devices' latencies and the fleet's CPU since `start`. */
    const phaseEnd = async (start: readonly Sample[]) => {
      await new Promise((r) => setTimeout(r, 1_000));
      const end = await Promise.all(servers.map(scrape));
      const reports = await Promise.all(devices.map((d) => ask(d, { type: "report" })));
      const latencies = reports.flatMap((r) => (r.type === "report" ? r.latenciesMs : []));
      return { end, latencies, cpu: grown(end, start, "cpuS") };
    };

    // Writes at a steady rate to random accounts; each hint times it on the account's other device.
    for (const d of devices) d.send({ type: "reset" } satisfies ToDevices);
    const liveStart = await Promise.all(servers.map(scrape));
    const writes = LIVE_SECONDS * WRITES_PER_SECOND;
    const started = performance.now();
    const inFlight = new Set<Promise<unknown>>();
    for (let i = 0; i < writes; i++) {
      within("the live phase");
      const due = started + (i * 1000) / WRITES_PER_SECOND;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const a = Math.floor(Math.random() * ACCOUNTS);
      const write = post(
        `${serverOf(a, 0).url}/v1/apps/${APP}/push`,
        tokens[a] as string,
        pushBody([{ id: `w-${i}`, data: { sentAt: wallMs(), value: i } }]),
      ).finally(() => inFlight.delete(write));
      inFlight.add(write);
      if (inFlight.size >= 200) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    const liveSeconds = (performance.now() - started) / 1000;
    const { end: liveEnd, latencies, cpu: liveCpu } = await phaseEnd(liveStart);

    // Single-document pushes as fast as the fleet takes them, each hinted to the account's other device: where the
    // bus and the database's commit path show.
    for (const d of devices) d.send({ type: "reset" } satisfies ToDevices);
    const satStart = await Promise.all(servers.map(scrape));
    const saturating = performance.now();
    let pushes = 0;
    await Promise.all(
      Array.from({ length: SATURATION_IN_FLIGHT * processes }, async () => {
        while (performance.now() - saturating < SATURATION_SECONDS * 1000) {
          within("the saturation phase");
          const a = Math.floor(Math.random() * ACCOUNTS);
          const i = ++pushes;
          await post(
            `${serverOf(a, 0).url}/v1/apps/${APP}/push`,
            tokens[a] as string,
            pushBody([{ id: `s-${i}`, data: { sentAt: wallMs(), value: i } }]),
          );
        }
      }),
    );
    const satSeconds = (performance.now() - saturating) / 1000;
    const { latencies: satLatencies, cpu: satCpu } = await phaseEnd(satStart);

    // Pushes as fast as the fleet takes them: batches of 100 settings documents to as many accounts.
    const pushAccounts = Math.min(ACCOUNTS, PUSH_DOCUMENTS / BATCH);
    const pushStart = await Promise.all(servers.map(scrape));
    const pushing = performance.now();
    await pipeline(
      Array.from({ length: PUSH_DOCUMENTS / BATCH }, (_, b) => () => {
        const a = b % pushAccounts;
        const docs = Array.from({ length: BATCH }, (_, j) => ({
          id: `p-${b}-${j}`,
          data: settings(b * BATCH + j),
        }));
        return post(`${serverOf(a, 0).url}/v1/apps/${APP}/push`, tokens[a] as string, pushBody(docs));
      }),
      IN_FLIGHT * processes,
      () => within("a pipeline"),
    );
    const pushSeconds = (performance.now() - pushing) / 1000;
    const pushEnd = await Promise.all(servers.map(scrape));
    const pushCpu = grown(pushEnd, pushStart, "cpuS");

    // A new phone per account: every document restored, pages of 500.
    const restoreStart = await Promise.all(servers.map(scrape));
    const restoring = performance.now();
    let restored = 0;
    await pipeline(
      Array.from({ length: pushAccounts }, (_, a) => async () => {
        let checkpoint = { epoch: 0, seq: 0 };
        for (let page = 0; page < 1_000; page++) {
          const answer = (await (
            await post(`${serverOf(a, 1).url}/v1/apps/${APP}/pull`, tokens[a] as string, {
              scope: SCOPE,
              checkpoint,
              limit: 500,
            })
          ).json()) as { documents: unknown[]; checkpoint: { epoch: number; seq: number }; more: boolean };
          restored += answer.documents.length;
          checkpoint = answer.checkpoint;
          if (!answer.more) break;
        }
      }),
      IN_FLIGHT * processes,
      () => within("a pipeline"),
    );
    const restoreSeconds = (performance.now() - restoring) / 1000;
    const restoreEnd = await Promise.all(servers.map(scrape));
    const restoreCpu = grown(restoreEnd, restoreStart, "cpuS");

    return {
      processes,
      bus,
      channels: total,
      channelsPerProcess,
      openSeconds,
      rssPerChannelKb: rssPerChannel / 1024,
      heapPerChannelKb: heapPerChannel / 1024,
      writes,
      delivered: latencies.length,
      latencyP50Ms: percentile(latencies, 50),
      latencyP99Ms: percentile(latencies, 99),
      liveCpuPerSecond: liveCpu / liveSeconds,
      liveGcPauses: {
        over10ms: grown(liveEnd, liveStart, "gcOver10ms"),
        over100ms: grown(liveEnd, liveStart, "gcOver100ms"),
      },
      saturation: {
        pushesPerSecond: pushes / satSeconds,
        cpuMicrosPerPush: (satCpu * 1e6) / pushes,
        latencyP50Ms: percentile(satLatencies, 50),
        latencyP99Ms: percentile(satLatencies, 99),
        delivered: satLatencies.length,
      },
      push: throughput(PUSH_DOCUMENTS, pushSeconds, pushCpu),
      restore: throughput(restored, restoreSeconds, restoreCpu),
    };
  } finally {
    for (const d of devices) {
      d.send({ type: "close" } satisfies ToDevices);
      await stop(d);
    }
    for (const s of servers) await stop(s.child);
    await scratch.drop();
  }
}

/** The floor under the same pushes and pulls as one Hokan process. */
async function floor(): Promise<{ push: Throughput; restore: Throughput }> {
  const scratch = await scratchDatabase("postgres", { prefix: "hokan_capacity" });
  await scratch.db.close();
  const child = spawn(process.execPath, ["--import", "tsx", FLOOR], {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    env: { ...process.env, FLOOR_DATABASE_URL: scratch.url },
    cwd: fileURLToPath(new URL(".", import.meta.url)),
  });
  children.add(child);
  try {
    const port = await waitForLine(
      child,
      (line) => (line.startsWith("{") ? (JSON.parse(line) as { port: number }).port : undefined),
      "the floor's server",
    );
    const url = `http://127.0.0.1:${port}`;
    const cpu = async () => ((await (await fetch(`${url}/cpu`)).json()) as { micros: number }).micros / 1e6;
    const accounts = PUSH_DOCUMENTS / BATCH;
    let cpuStart = await cpu();
    let t = performance.now();
    await pipeline(
      Array.from({ length: accounts }, (_, b) => () => {
        const docs = Array.from({ length: BATCH }, (_, j) => ({
          id: `p-${b}-${j}`,
          data: settings(b * BATCH + j),
        }));
        return post(`${url}/push?account=load-${b}`, "-", { docs });
      }),
      IN_FLIGHT,
      () => within("a pipeline"),
    );
    const push = throughput(PUSH_DOCUMENTS, (performance.now() - t) / 1000, (await cpu()) - cpuStart);
    cpuStart = await cpu();
    t = performance.now();
    let restored = 0;
    await pipeline(
      Array.from({ length: accounts }, (_, b) => async () => {
        let after = 0;
        for (let page = 0; page < 1_000; page++) {
          const { docs } = (await (
            await fetch(`${url}/pull?account=load-${b}&after=${after}&limit=500`)
          ).json()) as {
            docs: { seq: number }[];
          };
          restored += docs.length;
          if (docs.length < 500) break;
          after = Number(docs.at(-1)?.seq);
        }
      }),
      IN_FLIGHT,
      () => within("a pipeline"),
    );
    const restore = throughput(restored, (performance.now() - t) / 1000, (await cpu()) - cpuStart);
    return { push, restore };
  } finally {
    await stop(child);
    await scratch.drop();
  }
}

try {
  const floorResult = await floor();
  const fleets: FleetResult[] = [];
  for (const config of FLEETS) fleets.push(await fleet(config));
  const one = fleets[0] as FleetResult;
  const n = (x: number, digits = 0) =>
    Number.isFinite(x)
      ? x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
      : "—";
  const fleetName = (f: FleetResult) => `${f.processes} (${f.bus === "nats" ? "NATS" : "NOTIFY"})`;
  const lines = [
    `Capacity on ${ACCOUNTS.toLocaleString("en-US")} accounts × 2 devices, one PostgreSQL: ${WRITES_PER_SECOND} writes/s for ${LIVE_SECONDS} s; single-document pushes at saturation (${SATURATION_IN_FLIGHT} in flight per process) for ${SATURATION_SECONDS} s; ${PUSH_DOCUMENTS.toLocaleString("en-US")} documents of ~1 KB pushed in batches of ${BATCH} and restored in pages of 500 (${IN_FLIGHT} requests in flight per process).`,
    "",
    "| server processes (bus) | live channels (per process) | memory per channel, RSS / JS heap | write → other device p50 / p99 at 100/s | server CPU at 100 writes/s | GC pauses > 10 ms / > 100 ms meanwhile | single pushes/s at saturation | CPU per single push | their hints p50 / p99 (timed) |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...fleets.map(
      (f) =>
        `| ${fleetName(f)} | ${n(f.channels)} (${f.channelsPerProcess.map((c) => n(c)).join(" / ")}) | ${n(f.rssPerChannelKb, 1)} KB / ${n(f.heapPerChannelKb, 1)} KB | ${n(f.latencyP50Ms, 1)} / ${n(f.latencyP99Ms, 1)} ms (${n(f.delivered)} of ${n(f.writes)}) | ${n(f.liveCpuPerSecond * 100)} % of a core | ${n(f.liveGcPauses.over10ms)} / ${n(f.liveGcPauses.over100ms)} | ${n(f.saturation.pushesPerSecond)} | ${n(f.saturation.cpuMicrosPerPush)} µs | ${n(f.saturation.latencyP50Ms, 1)} / ${n(f.saturation.latencyP99Ms, 1)} ms (${n(f.saturation.delivered)}) |`,
    ),
    "",
    "| server processes (bus) | CPU per pushed doc | × floor | push docs/s | push docs per CPU-s | CPU per restored doc | × floor | restore docs/s |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...fleets.map(
      (f) =>
        `| ${fleetName(f)} | ${n(f.push.cpuMicrosPerDocument)} µs | ${n(f.push.cpuMicrosPerDocument / floorResult.push.cpuMicrosPerDocument, 2)}× | ${n(f.push.documentsPerSecond)} | ${n(f.push.documentsPerCpuSecond)} | ${n(f.restore.cpuMicrosPerDocument)} µs | ${n(f.restore.cpuMicrosPerDocument / floorResult.restore.cpuMicrosPerDocument, 2)}× | ${n(f.restore.documentsPerSecond)} |`,
    ),
    `| floor (bare HTTP + bulk upsert) | ${n(floorResult.push.cpuMicrosPerDocument)} µs | 1.00× | ${n(floorResult.push.documentsPerSecond)} | ${n(floorResult.push.documentsPerCpuSecond)} | ${n(floorResult.restore.cpuMicrosPerDocument)} µs | 1.00× | ${n(floorResult.restore.documentsPerSecond)} |`,
  ];
  const table = lines.join("\n");
  console.log(`\n${table}\n`);
  console.log(
    `one process: channels opened in ${n(one.openSeconds, 1)} s; median of the fleet's push docs/s ${n(median(fleets.map((f) => f.push.documentsPerSecond)))}`,
  );
  const file = save(quick ? "capacity-quick" : "capacity", [...fleets, { floor: floorResult }], {
    accounts: ACCOUNTS,
    writesPerSecond: WRITES_PER_SECOND,
    liveSeconds: LIVE_SECONDS,
    pushDocuments: PUSH_DOCUMENTS,
    batch: BATCH,
    inFlightPerProcess: IN_FLIGHT,
    quick,
  });
  console.log(`saved ${file}`);
  if (!quick && !chosen) {
    // The operations guide's table is this run's.
    const guide = fileURLToPath(new URL("../docs/operations.md", import.meta.url));
    const text = readFileSync(guide, "utf8");
    const start = "<!-- capacity:start -->";
    const end = "<!-- capacity:end -->";
    const from = text.indexOf(start);
    const to = text.indexOf(end);
    if (from >= 0 && to > from) {
      const name = file.split("/").at(-1);
      writeFileSync(
        guide,
        `${text.slice(0, from + start.length)}\n\n\`benchmarks/results/${name}\`: ${table}\n\n${text.slice(to)}`,
      );
      console.log(`table written to docs/operations.md`);
    }
  }
} finally {
  stopAll();
  rmSync(registryFile, { force: true });
}
