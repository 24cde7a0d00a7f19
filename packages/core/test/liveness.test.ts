import { describe, expect, it } from "vitest";
import { HokanError, LIVE_GIVE_UP_BEATS, type Replication } from "../src/index.js";
import { type SimDevice, SimWorld } from "../src/testing/index.js";
import { MAIL, relay, serverDocs, startOn } from "./helpers.js";

const HEARTBEAT = 15_000;

/** Runs the clock until `done` holds; the simulated time it took. */
async function timeUntil(
  world: SimWorld,
  done: () => boolean | Promise<boolean>,
  maxMs = 600_000,
): Promise<number> {
  const start = world.runtime.now();
  for (;;) {
    if (await done()) return world.runtime.now() - start;
    if (world.runtime.now() - start > maxMs) throw new Error(`not within ${maxMs} ms of simulated time`);
    await world.runtime.advance(250);
  }
}

const holds = async (r: Replication, id: string, v: number) => (await r.get("settings", id))?.v === v;

describe("a frozen connection (no bytes, no error: a NAT timeout, a Wi-Fi handover)", () => {
  it("is given up after 2.5 silent heartbeats: the device reopens its live channel and catches up", async () => {
    const world = new SimWorld({ liveHeartbeatMs: HEARTBEAT });
    const writer = await world.device({ id: "w", accountId: "alice" }).open(MAIL);
    const frozenDevice = world.device({ id: "f", accountId: "alice" });
    const reader = await frozenDevice.open(MAIL);
    await world.runtime.advance(1_000);
    // The reader's connection dies silently: its open channel carries nothing more, while new ones work.
    frozenDevice.setFrozen(true);
    frozenDevice.setFrozen(false);
    for (let i = 0; i < 20; i++) await writer.put("settings", `d${i}`, { v: i });
    const took = await timeUntil(world, () => holds(reader, "d19", 19));
    // Within the 2.5 intervals of silence it waits for, and a reopening.
    expect(took).toBeLessThanOrEqual(HEARTBEAT * LIVE_GIVE_UP_BEATS + HEARTBEAT);
    expect(took).toBeGreaterThan(HEARTBEAT);
    for (let i = 0; i < 20; i++) expect(await holds(reader, `d${i}`, i)).toBe(true);
    await writer.stop();
    await reader.stop();
  });

  it("lasting minutes, is left within two heartbeat intervals of healing, pushes included, nothing lost", async () => {
    const world = new SimWorld({ liveHeartbeatMs: HEARTBEAT });
    const a = world.device({ id: "a", accountId: "alice" });
    const b = world.device({ id: "b", accountId: "alice" });
    const mailA = await a.open(MAIL);
    const mailB = await b.open(MAIL);
    await world.runtime.advance(1_000);
    a.setFrozen(true);
    b.setFrozen(true);
    for (let i = 0; i < 10; i++) {
      await mailA.put("settings", `a${i}`, { v: i });
      await mailB.put("settings", `b${i}`, { v: i });
      await world.runtime.advance(20_000);
    }
    // Three more minutes frozen: backoffs grow towards their 60 s cap.
    await world.runtime.advance(180_000);
    expect(mailA.status.pending).toBe(10);
    // Healed while it sleeps out a long backoff (a retry may be hanging at this instant: wait for the next).
    await world.runtime.runUntil(() => mailA.status.state === "backoff");
    expect(mailA.status.state).toBe("backoff");
    a.setFrozen(false);
    b.setFrozen(false);
    const took = await timeUntil(
      world,
      async () =>
        (await holds(mailA, "b9", 9)) &&
        (await holds(mailB, "a9", 9)) &&
        mailA.status.pending === 0 &&
        mailB.status.pending === 0,
    );
    expect(took).toBeLessThanOrEqual(2 * HEARTBEAT);
    const docs = serverDocs(world, "alice", MAIL.scope.appId);
    expect(Object.keys(docs)).toHaveLength(20);
    await mailA.stop();
    await mailB.stop();
  });
});

describe("a backoff after the server was out of reach", () => {
  it("ends within seconds of the partition healing: the device probes instead of sleeping out a 60 s delay", async () => {
    const world = new SimWorld();
    const device = world.device({ id: "a", accountId: "alice" });
    const mail = await device.open(MAIL);
    await world.settle();
    world.network.faults = { ...world.network.faults, dropRequest: 1 };
    await mail.put("settings", "x", { v: 1 });
    // Ten minutes of failures: the backoff is at its 60 s cap.
    await world.runtime.advance(600_000);
    expect(mail.status.state).toBe("backoff");
    world.network.faults = { ...world.network.faults, dropRequest: 0 };
    const took = await timeUntil(world, () => mail.status.pending === 0);
    // Probes every 2.5 to 5 s.
    expect(took).toBeLessThanOrEqual(6_000);
    expect(serverDocs(world, "alice", MAIL.scope.appId)).toEqual({ "settings/x": { v: 1 } });
    await mail.stop();
  });

  it("is left to run its course when the server answers with an error (it is up, but failing)", async () => {
    const world = new SimWorld();
    const device = world.device({ id: "a", accountId: "alice" });
    const server = { failing: true };
    let probes = 0;
    const transport = relay(device.link.transport, {
      push: (r) =>
        server.failing ? Promise.reject(new HokanError("server", "HTTP 500")) : device.link.transport.push(r),
      probe: async () => {
        probes++;
      },
    });
    const mail = await startOn(world, device, MAIL, { transport });
    await world.settle();
    await mail.put("settings", "x", { v: 1 });
    await world.runtime.advance(600_000);
    expect(mail.status.lastError?.code).toBe("server");
    expect(probes).toBe(0);
    server.failing = false;
    await world.runtime.advance(61_000);
    await world.settle();
    expect(mail.status.pending).toBe(0);
    await mail.stop();
  });
});

describe("the safety pull", () => {
  it("finds a change whose hint was lost, once the server has told the device nothing for five minutes", async () => {
    // No heartbeat: the lost hint is noticed by nothing else.
    const world = new SimWorld();
    const writer = await world.device({ id: "w", accountId: "alice" }).open(MAIL);
    const deaf = world.device({ id: "r", accountId: "alice" });
    // As an app makes it: the engine's default safety pull.
    const reader = await startOn(world, deaf, MAIL);
    await world.settle();
    deaf.setFrozen(true);
    deaf.setFrozen(false);
    await writer.put("settings", "x", { v: 1 });
    const took = await timeUntil(world, () => holds(reader, "x", 1));
    expect(took).toBeGreaterThan(60_000);
    expect(took).toBeLessThanOrEqual(5 * 60_000 + 1_000);
    await writer.stop();
    await reader.stop();
  });

  it("waits while hints keep coming, and can be turned off", async () => {
    const world = new SimWorld();
    const counted = (device: SimDevice, count: () => void) =>
      relay(device.link.transport, {
        pull: (r) => {
          count();
          return device.link.transport.pull(r);
        },
      });
    const a = world.device({ id: "a", accountId: "alice" });
    let pulls = 0;
    const mail = await startOn(world, a, MAIL, { transport: counted(a, () => pulls++) });
    const q = world.device({ id: "q", accountId: "alice" });
    let quietPulls = 0;
    const quiet = await startOn(world, q, MAIL, {
      transport: counted(q, () => quietPulls++),
      safetyPullMs: 0,
    });
    const other = await world.device({ id: "b", accountId: "alice" }).open(MAIL);
    await world.settle();
    pulls = 0;
    quietPulls = 0;
    // A change every four minutes: each hint is taken with its documents, so no pull at all is needed.
    for (let i = 0; i < 3; i++) {
      await other.put("settings", `x${i}`, { v: i });
      await world.runtime.advance(4 * 60_000);
    }
    expect(pulls).toBe(0);
    // Quiet for ten minutes: two safety pulls; none where turned off.
    await world.runtime.advance(10 * 60_000);
    expect(pulls).toBe(2);
    expect(quietPulls).toBe(0);
    await mail.stop();
    await quiet.stop();
    await other.stop();
  });
});
