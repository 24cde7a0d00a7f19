/**
 * A visible simulation of Hokan: three devices of one account, an unreliable network, offline edits, roaming with
 * overseas use off, a conflict, and a bulk delete while a device still holds queued changes. Everything runs on a
 * simulated clock and a seeded network, so the same seed prints the same timeline.
 *
 *   pnpm start                 # seed 42
 *   pnpm start -- --seed 7     # another run
 */
import type { Replication } from "../src/index.js";
import { randomId } from "../src/index.js";
import { BAD_NETWORK, type SimDevice, SimWorld } from "../src/testing/index.js";

const seedArg = process.argv.indexOf("--seed");
const seed = seedArg >= 0 ? Number(process.argv[seedArg + 1]) : 42;

const MAIL = {
  scope: { appId: "jp.example.mail", appVersion: "3.0.0", platform: "android" as const },
  collections: { settings: "merge" as const, consent: "lww" as const },
};

const world = new SimWorld({ seed, faults: BAD_NETWORK });
const start = world.runtime.now();
const color = process.stdout.isTTY
  ? (c: number, s: string) => `\x1b[${c}m${s}\x1b[0m`
  : (_: number, s: string) => s;

function stamp(): string {
  const ms = world.runtime.now() - start;
  const m = Math.floor(ms / 60_000);
  const s = ((ms % 60_000) / 1000).toFixed(3).padStart(6, "0");
  return color(90, `[${String(m).padStart(2, "0")}:${s}]`);
}

function log(who: string, what: string): void {
  console.log(`${stamp()} ${color(36, who.padEnd(8))} ${what}`);
}

function describe(r: Replication): string {
  const s = r.status;
  const reason = s.reason ? ` (${s.reason})` : "";
  return `${s.state}${reason}, ${s.pending} pending, epoch ${s.epoch}`;
}

/** Repeats a request over the lossy network until an answer arrives. */
async function untilAnswered<T>(who: string, request: () => Promise<T>): Promise<T> {
  for (let attempt = 1; attempt <= 20; attempt++) {
    try {
      return await world.run(request());
    } catch {
      log(who, `no answer (attempt ${attempt}); trying again`);
      await world.runtime.advance(500);
    }
  }
  throw new Error("the network never answered");
}

async function settle(note: string): Promise<void> {
  await world.settle();
  log("network", color(33, `${note} — settled`));
}

async function show(devices: [SimDevice, Replication][]): Promise<void> {
  for (const [d, r] of devices) {
    const docs = [...(await r.list("settings")), ...(await r.list("consent"))];
    const body = docs.map((x) => `${x.id}=${JSON.stringify(x.data)}`).join(" ");
    log(d.id, `${describe(r)} | ${body || "(no documents)"}`);
  }
}

console.log(
  color(
    1,
    `Hokan simulation: 3 devices, account "alice", seed ${seed}, a network that drops, duplicates and reorders\n`,
  ),
);

const phone = world.device({ id: "phone", accountId: "alice" });
const tablet = world.device({ id: "tablet", accountId: "alice", clockSkewMs: -3 * 3_600_000 });
const laptop = world.device({ id: "laptop", accountId: "alice", platform: "web" });
const mPhone = await phone.open(MAIL);
const mTablet = await tablet.open(MAIL);
const mLaptop = await laptop.open(MAIL);
/** Each device with its running mail app (looked up again: a restart replaces it). */
const all = (): [SimDevice, Replication][] =>
  [phone, tablet, laptop].map((d) => [d, d.app(MAIL.scope.appId)]);
log("tablet", "its wall clock is 3 hours behind; the server's time corrects its hybrid logical clock");

await mPhone.put("consent", "tos", { version: 3, accepted: true });
await mPhone.put("settings", "prefs", { theme: "light", font: 12, sound: "on" });
log("phone", "accepted terms of use v3, set preferences");
await settle("first backup");
await show(all());

console.log();
phone.setOnline(false);
log("phone", "goes offline (airplane mode)");
await mPhone.put("settings", "prefs", { theme: "dark", font: 12, sound: "on" });
log("phone", "changes theme to dark while offline");
await mTablet.put("settings", "prefs", { theme: "light", font: 16, sound: "on" });
log("tablet", "changes font to 16 at the same time");
await settle("tablet synced, phone still offline");
log("phone", describe(mPhone));
await phone.restart();
log("phone", `app killed and restarted while offline: ${describe(phone.app(MAIL.scope.appId))}`);
phone.setOnline(true);
log("phone", "back online");
await settle("merge strategy: both edits kept");
await show(all());

console.log();
laptop.setRoaming(true);
log("laptop", "abroad, roaming, overseas use off");
await mLaptop.put("settings", "prefs", { theme: "dark", font: 16, sound: "off" });
log("laptop", "mutes sound while abroad");
await settle("laptop holds its change");
log("laptop", describe(mLaptop));
laptop.updateSettings({ overseasEnabled: true });
log("laptop", "turns overseas use on");
await settle("released");
await show(all());

console.log();
tablet.setOnline(false);
log("tablet", "goes offline");
await mTablet.put("settings", "draft", { text: "queued before the delete" });
log("tablet", "queues a change");
// The settings screen retries with the same request id until it hears back: the server deletes once.
const requestId = randomId(world.runtime);
const deleted = await untilAnswered("phone", () => phone.link.transport.deleteAll(requestId));
log(
  "phone",
  `bulk delete of every backup: ${deleted.apps.map((a) => `${a.appId} → epoch ${a.epoch}`).join(", ")}`,
);
log(
  "phone",
  `catalog now lists ${(await untilAnswered("phone", () => phone.link.transport.catalog())).apps.length} apps`,
);
tablet.setOnline(true);
log("tablet", "back online");
await settle("the queued change was superseded by the delete");
log("server", `documents stored: ${world.server.documents("alice", MAIL.scope.appId).length}`);
log("tablet", "the draft stays in the tablet's own data; it is just not in the backup");
await mTablet.put("settings", "after", { text: "made after the delete" });
log("tablet", "makes a change after learning of the delete");
await settle("backed up normally");
const catalog = await untilAnswered("phone", () => phone.link.transport.catalog());
log(
  "server",
  `catalog: ${catalog.apps.map((a) => `${a.appId} (${a.documents} docs, ${a.bytes} bytes)`).join(", ")}`,
);
await show(all());

// Check, do not claim: every device holds exactly the server's state of every backed-up document.
let converged = true;
for (const [d, r] of all()) {
  for (const doc of world.server.documents("alice", MAIL.scope.appId)) {
    const local = (await r.get(doc.collection, doc.id)) ?? null;
    if (JSON.stringify(local) !== JSON.stringify(doc.data)) {
      converged = false;
      log(d.id, color(31, `differs from the server at ${doc.collection}/${doc.id}`));
    }
  }
  if (r.status.pending !== 0) converged = false;
}
const stats = world.network.stats;
console.log(
  color(
    1,
    `\n${stats.requests} requests; ${stats.droppedRequests} requests and ${stats.droppedResponses} answers lost, ` +
      `${stats.duplicated} duplicated, ${stats.liveBreaks} live channels broken. ` +
      (converged ? "Every device converged with the backup." : "NOT CONVERGED."),
  ),
);
for (const [, r] of all()) await r.stop();
process.exitCode = converged ? 0 : 1;
