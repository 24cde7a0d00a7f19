import { describe, expect, it } from "vitest";
import { type DroppedChanges, HokanError, type Replication } from "../src/index.js";
import { type SimDevice, SimWorld } from "../src/testing/index.js";
import { MAIL, serverDocs } from "./helpers.js";

/** Follows a promise without awaiting it. */
function watch<T>(p: Promise<T>): { state: "pending" | "resolved" | "rejected"; value?: T; error?: unknown } {
  const w: { state: "pending" | "resolved" | "rejected"; value?: T; error?: unknown } = { state: "pending" };
  p.then(
    (value) => {
      w.state = "resolved";
      w.value = value;
    },
    (error: unknown) => {
      w.state = "rejected";
      w.error = error;
    },
  );
  return w;
}

/** Whether the server has ever committed this document with `data`. */
function committed(world: SimWorld, id: string, data: object): boolean {
  return world.server.log.some(
    (e) => e.document.id === id && JSON.stringify(e.document.data) === JSON.stringify(data),
  );
}

async function online(world: SimWorld): Promise<{ device: SimDevice; mail: Replication }> {
  const device = world.device({ id: "a", accountId: "alice" });
  const mail = await device.open(MAIL);
  await world.settle();
  return { device, mail };
}

describe("a write's acknowledgement", () => {
  it("comes only from the server's answer: not when the server committed but the answer was lost", async () => {
    const world = new SimWorld();
    const { mail } = await online(world);
    world.network.faults = { ...world.network.faults, dropResponse: 1 };
    const receipt = await mail.put("settings", "x", { v: 1 });
    const ack = watch(mail.acknowledged(receipt));
    await world.runtime.advance(5_000);
    expect(committed(world, "x", { v: 1 })).toBe(true);
    expect(ack.state).toBe("pending");
    expect(mail.status.pending).toBe(1);
    world.network.faults = { ...world.network.faults, dropResponse: 0 };
    await world.settle();
    expect(ack.state).toBe("resolved");
    // The retry went under the same idempotency key: applied once.
    expect(world.server.log.filter((e) => e.document.id === "x")).toHaveLength(1);
    await mail.stop();
  });

  it("waits on an offline device, then comes once the device is online and the server has the write", async () => {
    const world = new SimWorld();
    const { device, mail } = await online(world);
    device.setOnline(false);
    const receipt = await mail.put("settings", "x", { v: 1 });
    // whenIdle() rests at once (nothing can be done), without the acknowledgement.
    expect((await mail.whenIdle()).acknowledged).toBe(false);
    const ack = watch(mail.acknowledged(receipt));
    const all = watch(mail.whenAcknowledged());
    await world.runtime.advance(60_000);
    expect([ack.state, all.state]).toEqual(["pending", "pending"]);
    device.setOnline(true);
    await world.settle();
    expect([ack.state, all.state]).toEqual(["resolved", "resolved"]);
    expect(serverDocs(world, "alice", MAIL.scope.appId)).toEqual({ "settings/x": { v: 1 } });
    await mail.stop();
  });

  it("of a document written again before it came is the later write's, once that is on the server", async () => {
    const world = new SimWorld();
    const { mail } = await online(world);
    const first = await mail.put("settings", "x", { v: 1 });
    const second = await mail.put("settings", "x", { v: 2 });
    const acks = [watch(mail.acknowledged(first)), watch(mail.acknowledged(second))];
    await world.settle();
    expect(acks.map((a) => a.state)).toEqual(["resolved", "resolved"]);
    expect(serverDocs(world, "alice", MAIL.scope.appId)).toEqual({ "settings/x": { v: 2 } });
    await mail.stop();
  });

  it("of a write that lost a conflict comes once the server holds the resolution", async () => {
    const world = new SimWorld();
    const { device, mail } = await online(world);
    const other = await world.device({ id: "b", accountId: "alice" }).open(MAIL);
    device.setOnline(false);
    const receipt = await mail.put("consent", "tos", { accepted: false });
    await world.runtime.advance(1_000);
    await other.put("consent", "tos", { accepted: true });
    await world.settle();
    const ack = watch(mail.acknowledged(receipt));
    device.setOnline(true);
    await world.settle();
    expect(ack.state).toBe("resolved");
    // lww: the later write won; the device holds it too.
    expect(serverDocs(world, "alice", MAIL.scope.appId)).toEqual({ "consent/tos": { accepted: true } });
    expect(await mail.get("consent", "tos")).toEqual({ accepted: true });
    await mail.stop();
    await other.stop();
  });

  it("is refused with the server's code when the server refuses the write for good", async () => {
    const world = new SimWorld();
    const { mail } = await online(world);
    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 80; i++) deep = { d: deep };
    const bad = await mail.put("settings", "deep", deep as never);
    const good = await mail.put("settings", "fine", { v: 1 });
    const [badAck, goodAck] = [watch(mail.acknowledged(bad)), watch(mail.acknowledged(good))];
    await world.settle();
    expect(goodAck.state).toBe("resolved");
    expect(badAck.state).toBe("rejected");
    expect(badAck.error).toBeInstanceOf(HokanError);
    expect(badAck.error).toMatchObject({
      code: "payload-too-large",
      details: { documents: [{ collection: "settings", id: "deep", code: "payload-too-large" }] },
    });
    // Every write so far: one of them never can be.
    await expect(mail.whenAcknowledged()).rejects.toMatchObject({ code: "payload-too-large" });
    await mail.stop();
  });

  it("gives up at timeoutMs with `timeout`, and at an abort with the signal's reason", async () => {
    const world = new SimWorld();
    const { device, mail } = await online(world);
    device.setOnline(false);
    const receipt = await mail.put("settings", "x", { v: 1 });
    const timed = watch(mail.acknowledged(receipt, { timeoutMs: 10_000 }));
    const controller = new AbortController();
    const aborted = watch(mail.whenAcknowledged({ signal: controller.signal }));
    await world.runtime.advance(10_001);
    expect(timed.state).toBe("rejected");
    expect(timed.error).toMatchObject({ code: "timeout", retryable: true, details: { pending: 1 } });
    expect(aborted.state).toBe("pending");
    controller.abort();
    await world.runtime.advance(1);
    expect(aborted.state).toBe("rejected");
    expect((aborted.error as Error).name).toBe("AbortError");
    // The write itself is still queued and goes when it can.
    device.setOnline(true);
    await world.settle();
    expect(serverDocs(world, "alice", MAIL.scope.appId)).toEqual({ "settings/x": { v: 1 } });
    await mail.stop();
  });
});

describe("writes dropped by a delete of the backup", () => {
  it("are named to the app, counted apart from the acknowledged ones, and their waits refused with `deleted`", async () => {
    const world = new SimWorld();
    const { device, mail } = await online(world);
    await mail.put("settings", "kept", { v: 0 });
    await world.settle();
    device.setOnline(false);
    const receipt = await mail.put("settings", "x", { v: 1 });
    await mail.put("settings", "y", { v: 1 });
    const ack = watch(mail.acknowledged(receipt));
    const dropped: DroppedChanges[] = [];
    mail.dropped$.subscribe((d) => dropped.push(d));
    // The settings screen of another device deletes every backup meanwhile.
    const screen = world.device({ id: "s", accountId: "alice" });
    await world.run(screen.link.transport.deleteAll("bulk-delete-1"));
    device.setOnline(true);
    await world.settle();
    expect(ack.state).toBe("rejected");
    expect(ack.error).toMatchObject({ code: "deleted", retryable: false });
    expect(dropped).toEqual([
      {
        reason: "deleted",
        epoch: 2,
        documents: [
          { collection: "settings", id: "x" },
          { collection: "settings", id: "y" },
        ],
      },
    ]);
    expect(mail.status).toMatchObject({ pending: 0, dropped: 2, epoch: 2 });
    expect(serverDocs(world, "alice", MAIL.scope.appId)).toEqual({});
    // The documents stay on the device; written again, they are backed up under the new epoch.
    expect(await mail.get("settings", "x")).toEqual({ v: 1 });
    const again = await mail.put("settings", "x", { v: 1 });
    const second = watch(mail.acknowledged(again));
    await world.settle();
    expect(second.state).toBe("resolved");
    expect(serverDocs(world, "alice", MAIL.scope.appId)).toEqual({ "settings/x": { v: 1 } });
    await mail.stop();
  });
});

describe("writes dropped by this device's own bulk delete", () => {
  it("are told as well: backupDeleted() drops them at once", async () => {
    const world = new SimWorld();
    const { device, mail } = await online(world);
    device.setOnline(false);
    const receipt = await mail.put("settings", "x", { v: 1 });
    const ack = watch(mail.acknowledged(receipt));
    const dropped: DroppedChanges[] = [];
    mail.dropped$.subscribe((d) => dropped.push(d));
    await mail.backupDeleted(2);
    await world.runtime.advance(1);
    expect(ack.state).toBe("rejected");
    expect(ack.error).toMatchObject({ code: "deleted" });
    expect(dropped).toEqual([
      { reason: "deleted", epoch: 2, documents: [{ collection: "settings", id: "x" }] },
    ]);
    expect(mail.status).toMatchObject({ pending: 0, dropped: 1 });
    await mail.stop();
  });
});
