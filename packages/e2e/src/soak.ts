/**
 * Opt-in soak: several devices with IndexedDB stores write through a fault proxy to a server on PGlite for minutes,
 * going offline, restarting, and now and then bulk-deleting; then the network heals and it counts.
 *
 *   pnpm --filter @hokan/e2e soak -- --minutes 2 --devices 4 --seed 7
 *
 * Prints changes made, acknowledged, converged, lost (must be 0) and resurrected (must be 0); exits 1 otherwise. Every
 * write's acknowledgement is awaited: its latency is printed (p50, p95), and each one is checked against the database
 * when it comes (early must be 0). Now and then every connection freezes for a few seconds (no bytes, no error).
 */
import { jsonEqual, type RegistryEntry, randomId, systemRuntime } from "@hokan/core";
import { Prng } from "@hokan/core/testing";
import { CLEAN } from "./fault-proxy.js";
import { Device, type E2EApp, settingsScreen, settled, startCluster, until } from "./harness.js";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
};
const minutes = arg("minutes", 2);
const deviceCount = Math.min(8, arg("devices", 4));
const seed = arg("seed", 1);
const APP: E2EApp = { appId: "jp.example.soak", appVersion: "1.0.0", collections: { notes: "lww" } };
const REGISTRY: RegistryEntry[] = [
  { appId: APP.appId, platform: "android", capabilities: ["backup", "restore", "bulkBackup", "bulkDelete"] },
];

const prng = new Prng(seed);
// A short heartbeat, so that frozen live channels are given up within the run's rhythm.
const cluster = await startCluster("pglite", REGISTRY, seed, { liveHeartbeatMs: 2_000 });
const account = `soak-${randomId(systemRuntime)}`;
const devices = Array.from(
  { length: deviceCount },
  (_, i) => new Device(cluster.proxy.url, `dev${i}`, account),
);
for (const d of devices) await d.start(APP);
cluster.proxy.faults = { cutRequest: 0.05, dropResponse: 0.05, maxDelayMs: 40 };

/** Each write makes a new document, so what a delete took can only come back by a queued change. */
const writes: { id: string; epoch: number }[] = [];
/** Each write's wait for its acknowledgement: how long it took, or why it never came. */
const acks: { ms?: number; code?: string; settled: boolean; replication: unknown }[] = [];
const early: string[] = [];
const checks: Promise<void>[] = [];
let freezes = 0;
let bulkDeletes = 0;
let n = 0;
const end = Date.now() + minutes * 60_000;
let nextReport = Date.now() + 10_000;
while (Date.now() < end) {
  const d = devices[prng.int(0, devices.length - 1)] as Device;
  const roll = prng.next();
  if (roll < 0.8) {
    const id = `n${n++}`;
    const r = d.app(APP.appId);
    const data = { text: `note ${id}`, by: d.id };
    const receipt = await r.put("notes", id, data);
    // The epoch the device knew when it wrote: a write from before it heard of a delete is superseded by it.
    writes.push({ id, epoch: r.status.epoch });
    const ack: (typeof acks)[number] = { settled: false, replication: r };
    acks.push(ack);
    const at = Date.now();
    r.acknowledged(receipt).then(
      () => {
        ack.settled = true;
        ack.ms = Date.now() - at;
        const deletesThen = bulkDeletes;
        checks.push(
          cluster.db
            .query<{ data: unknown }>(
              "SELECT data FROM documents WHERE account_id = $1 AND app_id = $2 AND id = $3",
              [account, APP.appId, id],
            )
            .then((rows) => {
              // Stored, unless a bulk delete took it since.
              if (rows.length === 0 ? bulkDeletes === deletesThen : !jsonEqual(rows[0]?.data as never, data))
                early.push(id);
            }),
        );
      },
      (error: unknown) => {
        ack.settled = true;
        ack.code = (error as { code?: string }).code ?? String(error);
      },
    );
  } else if (roll < 0.9) {
    d.setOnline(!d.network$.value.online);
  } else if (roll < 0.903) {
    // The network freezes every connection for a few seconds, as a NAT timeout does.
    freezes++;
    cluster.proxy.freeze();
    setTimeout(() => cluster.proxy.thaw(), prng.int(1_000, 6_000));
  } else if (roll < 0.99 || Date.now() > end - minutes * 12_000) {
    await d.restart();
  } else {
    // A bulk delete from the settings screen while every device is online and caught up: nothing is queued from before.
    for (const x of devices) x.setOnline(true);
    cluster.proxy.faults = CLEAN;
    await until(() => devices.every((x) => x.app(APP.appId).status.pending === 0), 60_000);
    await settled(devices);
    bulkDeletes++;
    await settingsScreen(cluster.proxy.url, account).deleteAll(`soak-${randomId(systemRuntime)}`);
    cluster.proxy.faults = { cutRequest: 0.05, dropResponse: 0.05, maxDelayMs: 40 };
  }
  await new Promise((r) => setTimeout(r, prng.int(0, 30)));
  if (Date.now() > nextReport) {
    console.log(`${writes.length} changes made, proxy: ${JSON.stringify(cluster.proxy.stats)}`);
    nextReport += 10_000;
  }
}

// Heal and let everything settle.
cluster.proxy.thaw();
cluster.proxy.faults = CLEAN;
for (const d of devices) d.setOnline(true);
await until(() => devices.every((d) => d.app(APP.appId).status.pending === 0), 120_000);
await settled(devices);
for (const d of devices) await d.restart();
await settled(devices);

const rows = await cluster.db.query<{ id: string; data: unknown }>(
  "SELECT id, data FROM documents WHERE account_id = $1 AND app_id = $2 AND data IS NOT NULL",
  [account, APP.appId],
);
const onServer = new Map(rows.map((r) => [r.id, r.data]));
const [app] = await cluster.db.query<{ epoch: number }>(
  "SELECT epoch FROM apps WHERE account_id = $1 AND app_id = $2",
  [account, APP.appId],
);
const finalEpoch = app?.epoch ?? 1;
const after = writes.filter((w) => w.epoch === finalEpoch);
const before = writes.filter((w) => w.epoch !== finalEpoch);
const lost = after.filter((w) => !onServer.has(w.id)).length;
const resurrected = before.filter((w) => onServer.has(w.id)).length;
let converged = 0;
for (const d of devices) {
  let same = true;
  for (const [id, data] of onServer)
    if (!jsonEqual((await d.app(APP.appId).get("notes", id)) ?? null, data as never)) same = false;
  if (same) converged++;
}
console.log(
  `\n${minutes} min, ${deviceCount} devices, seed ${seed}: ${writes.length} changes made, ${after.length} made knowing the last bulk delete (epoch ${finalEpoch}), ` +
    `${onServer.size} acknowledged and stored, ${converged}/${deviceCount} devices converged, lost ${lost}, resurrected ${resurrected}`,
);
console.log(`proxy: ${JSON.stringify(cluster.proxy.stats)}, ${freezes} freezes`);
await Promise.all(checks);
const running = new Set(devices.map((d) => d.app(APP.appId)));
const latencies = acks.flatMap((a) => (a.ms === undefined ? [] : [a.ms])).sort((a, b) => a - b);
const pct = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))] ?? 0;
const refused = acks.filter((a) => a.code !== undefined);
const unsettled = acks.filter((a) => !a.settled && running.has(a.replication as never)).length;
const abandoned = acks.filter((a) => !a.settled && !running.has(a.replication as never)).length;
console.log(
  `acknowledgements: ${latencies.length} came, p50 ${pct(50)} ms, p95 ${pct(95)} ms, max ${latencies.at(-1) ?? 0} ms; ` +
    `refused ${refused.length} (${[...new Set(refused.map((a) => a.code))].join(", ") || "-"}); ` +
    `${abandoned} waits ended by an app restart; never came on a running app ${unsettled}; before the commit ${early.length}`,
);
for (const d of devices) await d.close();
await cluster.close();
process.exit(
  lost === 0 &&
    resurrected === 0 &&
    converged === deviceCount &&
    onServer.size === after.length &&
    early.length === 0 &&
    unsettled === 0
    ? 0
    : 1,
);
