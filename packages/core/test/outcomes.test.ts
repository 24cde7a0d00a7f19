import { BehaviorSubject, NEVER } from "rxjs";
import { describe, expect, it } from "vitest";
import {
  type ConflictHandler,
  HokanError,
  jsonEqual,
  type NetworkState,
  type ReplicationStatus,
  type Transport,
} from "../src/index.js";
import { MemoryServer, MemoryStore, openRegistry, type SimApp, SimWorld } from "../src/testing/index.js";
import { behindSwitch, MAIL, relay, replicationOn, serverDocs, startOn } from "./helpers.js";

/** A transport whose server is down until `server.up`. */
function down(inner: Transport): { transport: Transport; server: { up: boolean } } {
  const server = { up: false };
  return { transport: behindSwitch(inner, server), server };
}

describe("unexpected throws", () => {
  it("stop replication once as an internal error naming the cause, instead of retrying a buggy conflict handler forever", async () => {
    const broken: ConflictHandler = {
      isEqual: () => false,
      resolve: () => {
        throw new TypeError("Cannot read properties of undefined (reading 'score')");
      },
    };
    const app: SimApp = { scope: MAIL.scope, collections: { scores: broken } };
    const world = new SimWorld();
    const a = await startOn(world, world.device({ id: "a", accountId: "alice" }), app);
    await a.put("scores", "x", { score: 1 });
    await world.settle();
    const phone = world.device({ id: "b", accountId: "alice", online: false });
    const b = await startOn(world, phone, app);
    await b.put("scores", "x", { score: 2 });
    phone.setOnline(true);
    await world.settle();
    expect(b.status.state).toBe("fatal");
    expect(b.status.reason).toBe("internal");
    expect(b.status.lastError).toMatchObject({ code: "internal", retryable: false });
    expect(b.status.lastError?.message).toContain("scores");
    expect(b.status.lastError?.message).toContain("TypeError: Cannot read properties of undefined");
    // The other device's safety pulls aside, nothing is sent any more.
    await a.stop();
    const requests = world.network.stats.requests;
    await world.runtime.advance(30 * 60_000);
    expect(world.network.stats.requests).toBe(requests);
    expect(b.status.pending).toBe(1);
    await b.stop();
  });

  it("from the app's store, retry as storage errors", async () => {
    const world = new SimWorld();
    const device = world.device({ id: "a", accountId: "alice" });
    const inner = new MemoryStore();
    let failures = 1;
    const flaky = Object.assign(Object.create(inner) as MemoryStore, {
      commit: (...args: Parameters<MemoryStore["commit"]>) =>
        // A custom store's own error, as a browser's DOMException would be.
        failures-- > 0 ? Promise.reject(new Error("disk I/O error")) : inner.commit(...args),
    });
    const mail = await startOn(world, device, MAIL, { store: flaky });
    await mail.put("settings", "x", { v: 1 }).catch(() => undefined);
    await mail.put("settings", "x", { v: 2 });
    await world.settle();
    expect(mail.status).toMatchObject({ state: "idle", pending: 0 });
    expect(world.server.documents("alice", MAIL.scope.appId).map((d) => d.data)).toEqual([{ v: 2 }]);
    failures = 1;
    const err = await mail.put("settings", "x", { v: 3 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "HokanError", code: "storage", retryable: true });
    await mail.stop();
  });
});

describe("status", () => {
  it("emits a snapshot only when something in it changed", async () => {
    const world = new SimWorld({ seed: 4 });
    const device = world.device({ id: "a", accountId: "alice" });
    const seen: ReplicationStatus[] = [];
    const mail = await startOn(world, device);
    const sub = mail.status$.subscribe((s) => seen.push(s));
    for (let i = 0; i < 5; i++) await mail.put("settings", `k${i}`, { v: i });
    device.setOnline(false);
    await mail.put("settings", "late", { v: 1 });
    device.setRoaming(true);
    device.setOnline(true);
    device.updateSettings({ overseasEnabled: true });
    await world.settle();
    sub.unsubscribe();
    expect(seen.length).toBeGreaterThan(5);
    const repeats = seen.filter((s, i) => i > 0 && jsonEqual(s as never, seen[i - 1] as never));
    expect(repeats).toEqual([]);
    await mail.stop();
  });

  it("names every reason that stops a backup: registry, contract, token, quota, newer data", async () => {
    // An app the registry does not know: start() resolves (it does not wait for the server), status says why.
    const world = new SimWorld({ registry: openRegistry(["jp.example.notes"]), quotaBytes: 1000 });
    const unknown = await startOn(world, world.device({ id: "a", accountId: "alice" }));
    await world.settle();
    expect(unknown.status).toMatchObject({ state: "idle", reason: "unsupported" });
    await unknown.stop();

    // The contract, as the device knows it (entitled$), and as only the server knows it.
    const notes: SimApp = {
      scope: { ...MAIL.scope, appId: "jp.example.notes" },
      collections: MAIL.collections,
    };
    const told = await startOn(world, world.device({ id: "b", accountId: "alice" }), notes, {
      entitled$: new (await import("rxjs")).BehaviorSubject(false),
    });
    await world.settle();
    expect(told.status).toMatchObject({ state: "idle", reason: "not-entitled" });
    await told.stop();
    const refused = world.device({ id: "c", accountId: "carol" });
    const refusedMail = await startOn(world, refused, notes, {
      transport: world.server.connect({ accountId: "carol", entitled: false }),
    });
    await world.settle();
    expect(refusedMail.status).toMatchObject({ state: "fatal", reason: "not-entitled" });
    await refusedMail.stop();

    // A token the server refuses after the transport's refresh.
    const badToken = await startOn(world, world.device({ id: "d", accountId: "dave" }), notes, {
      transport: relay(world.server.connect({ accountId: "dave" }), {
        pull: () => Promise.reject(new HokanError("unauthorized", "the token was refused after a refresh")),
        push: () => Promise.reject(new HokanError("unauthorized", "the token was refused after a refresh")),
      }),
    });
    await world.settle();
    expect(badToken.status).toMatchObject({ state: "fatal", reason: "unauthorized" });
    await badToken.stop();

    // The account's backup is full: never a backoff, though the refusal arrives while pushing.
    const full = await startOn(world, world.device({ id: "e", accountId: "erin" }), notes);
    const states: string[] = [];
    full.status$.subscribe((s) => states.push(s.state));
    await full.put("settings", "a", { blob: "x".repeat(600) });
    await world.settle();
    await full.put("settings", "b", { blob: "y".repeat(600) });
    await world.settle();
    expect(full.status).toMatchObject({ state: "idle", reason: "quota", pending: 1 });
    expect(states).not.toContain("backoff");
    await full.stop();
  });

  it("names data too new for this app as the reason, while backup of the rest goes on", async () => {
    const world = new SimWorld();
    const v2: SimApp = {
      scope: { ...MAIL.scope, schemaVersion: 2 },
      collections: MAIL.collections,
      migrations: { 2: (d) => d },
    };
    const newer = await startOn(world, world.device({ id: "new", accountId: "alice" }), v2);
    await newer.put("settings", "theme", { mode: "dark" });
    await world.settle();
    const older = await startOn(world, world.device({ id: "old", accountId: "alice" }));
    await world.settle();
    expect(older.status.backup.kind).toBe("allowed");
    expect(older.status.reason).toBe("upgrade-required");
    await newer.stop();
    await older.stop();
  });

  it("start() rejects, and status says why, when the device's data is newer than the app", async () => {
    const world = new SimWorld();
    const device = world.device({ id: "a", accountId: "alice" });
    const v2: SimApp = {
      scope: { ...MAIL.scope, schemaVersion: 2 },
      collections: MAIL.collections,
      migrations: { 2: (d) => d },
    };
    const upgraded = await startOn(world, device, v2);
    await upgraded.put("settings", "x", { v: 1 });
    await upgraded.stop();
    const downgraded = replicationOn(world, device);
    await expect(downgraded.start()).rejects.toMatchObject({ name: "HokanError", code: "upgrade-required" });
    expect(downgraded.status).toMatchObject({ state: "stopped", reason: "upgrade-required" });
    expect(downgraded.status.lastError?.code).toBe("upgrade-required");
  });
});

describe("whenIdle()", () => {
  it("says whether everything was acknowledged, gives up after timeoutMs, and rejects when its signal aborts", async () => {
    const world = new SimWorld();
    const device = world.device({ id: "a", accountId: "alice" });
    const { transport, server } = down(device.link.transport);
    const mail = await startOn(world, device, MAIL, { transport });
    await mail.put("settings", "x", { v: 1 });
    // Pending while the server is down: it never rests by itself.
    const waited = mail.whenIdle({ timeoutMs: 5000 });
    await world.runtime.advance(5000);
    const result = await waited;
    expect(result.idle).toBe(false);
    expect(result.acknowledged).toBe(false);
    expect(result.status.pending).toBe(1);
    expect(result.status.lastError?.code).toBe("network");
    const controller = new AbortController();
    const aborted = mail.whenIdle({ signal: controller.signal });
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ name: "AbortError" });
    server.up = true;
    const done = await world.run(mail.whenIdle({ timeoutMs: 120_000 }));
    expect(done).toMatchObject({ idle: true, acknowledged: true });
    expect(done.status.pending).toBe(0);
    await mail.stop();
  });
});

describe("sync()", () => {
  it("is synced only when the server answered and holds every change, failed when it is unreachable", async () => {
    const world = new SimWorld();
    const device = world.device({ id: "a", accountId: "alice" });
    const { transport, server } = down(device.link.transport);
    server.up = true;
    const mail = await startOn(world, device, MAIL, { transport });
    await world.run(mail.whenIdle());
    server.up = false;
    // Nothing pending, server unreachable: not "backed up".
    const unreachable = await world.run(mail.sync({ timeoutMs: 10_000 }));
    expect(unreachable).toMatchObject({ outcome: "failed", acknowledged: false, pending: 0 });
    expect(unreachable.error?.code).toBe("network");
    await mail.put("settings", "x", { v: 1 });
    expect(await world.run(mail.sync({ timeoutMs: 10_000 }))).toMatchObject({
      outcome: "failed",
      pending: 1,
    });
    server.up = true;
    const synced = await world.run(mail.sync({ timeoutMs: 10_000 }));
    expect(synced).toMatchObject({ outcome: "synced", acknowledged: true, pending: 0 });
    expect(world.server.documents("alice", MAIL.scope.appId).map((d) => d.data)).toEqual([{ v: 1 }]);
    device.setRoaming(true);
    expect(await world.run(mail.sync())).toMatchObject({ outcome: "held", reason: "roaming" });
    await mail.stop();
  });

  it("confirms with an empty push where the registry offers no restore", async () => {
    const world = new SimWorld({
      registry: [{ appId: MAIL.scope.appId, platform: "android", capabilities: ["backup", "bulkBackup"] }],
    });
    const device = world.device({ id: "a", accountId: "alice" });
    const pushes: number[] = [];
    const transport = relay(device.link.transport, {
      push: (r) => {
        pushes.push(r.changes.length);
        return device.link.transport.push(r);
      },
    });
    const mail = await startOn(world, device, MAIL, { transport });
    await world.settle();
    expect(await world.run(mail.sync({ bulk: true }))).toMatchObject({ outcome: "synced" });
    expect(pushes).toEqual([0]);
    await mail.stop();
  });

  it("as a bulk backup, holds an app the registry offers no bulk backup for, and the server refuses one", async () => {
    const world = new SimWorld({
      registry: [{ appId: MAIL.scope.appId, platform: "android", capabilities: ["backup", "restore"] }],
    });
    const device = world.device({ id: "a", accountId: "alice" });
    const mail = await startOn(world, device);
    await world.settle();
    await mail.put("settings", "x", { v: 1 });
    expect(await world.run(mail.sync({ bulk: true }))).toMatchObject({
      outcome: "held",
      reason: "capability",
    });
    await world.settle();
    // Its automatic backup still runs.
    expect(world.server.documents("alice", MAIL.scope.appId)).toHaveLength(1);
    await expect(
      world.run(
        device.link.transport.push({
          scope: MAIL.scope,
          idempotencyKey: "bulk-0001",
          changes: [],
          bulk: true,
        }),
      ),
    ).rejects.toMatchObject({ code: "capability" });
    await mail.stop();
  });
});

describe("a change the server fails on (500)", () => {
  it("is found by sending alone, set aside as refused after three tries, and the rest is backed up", async () => {
    const world = new SimWorld();
    const device = world.device({ id: "a", accountId: "alice" });
    let pushes = 0;
    // A server bug that only this document's data triggers.
    const transport = relay(device.link.transport, {
      push: (r) => {
        pushes++;
        return r.changes.some((c) => c.id === "poison")
          ? Promise.reject(new HokanError("server", "HTTP 500"))
          : device.link.transport.push(r);
      },
    });
    const mail = await startOn(world, device, MAIL, { transport });
    await world.settle();
    const poison = await mail.put("settings", "poison", { v: 1 });
    for (let i = 0; i < 5; i++) await mail.put("settings", `fine${i}`, { v: i });
    const refused = mail.acknowledged(poison).catch((e: unknown) => e);
    await world.settle();
    expect(Object.keys(serverDocs(world, "alice", MAIL.scope.appId)).sort()).toEqual(
      [0, 1, 2, 3, 4].map((i) => `settings/fine${i}`),
    );
    expect(mail.status).toMatchObject({ state: "idle", pending: 1, rejected: 1 });
    expect(mail.status.lastError).toMatchObject({ code: "server", retryable: false });
    expect(mail.status.lastError?.message).toContain("settings/poison");
    expect(await refused).toMatchObject({ code: "server" });
    // Bounded: the first batch twice at most, then three tries alone, then the rest.
    expect(pushes).toBeLessThanOrEqual(8);
    const before = pushes;
    await world.runtime.advance(30 * 60_000);
    expect(pushes).toBe(before);
    // Written again, the document gets its chances again (the server may have been fixed).
    await mail.put("settings", "poison", { v: 2 });
    await world.settle();
    expect(pushes).toBeGreaterThan(before);
    await mail.stop();
  });
});

describe("a conflict answer that leaves the server's state out", () => {
  it("is settled by a pull: many conflicts past the server's answer budget still converge", async () => {
    const world = new SimWorld();
    // A server whose answers carry no conflicting document at all (each is over its 50-byte page budget).
    const server = new MemoryServer({
      registry: openRegistry([MAIL.scope.appId]),
      now: () => world.runtime.now(),
      limits: { maxPullBytes: 50 },
    });
    const network = new BehaviorSubject<NetworkState>({ online: true, roaming: false });
    const a = await startOn(world, world.device({ id: "a", accountId: "alice" }), MAIL, {
      transport: server.connect({ accountId: "alice" }),
    });
    const omitted: number[] = [];
    const bTransport = server.connect({ accountId: "alice" });
    const b = await startOn(world, world.device({ id: "b", accountId: "alice" }), MAIL, {
      transport: relay(bTransport, {
        // No live hints: only the answers tell b of a's writes.
        live: () => NEVER,
        push: async (r) => {
          const res = await bTransport.push(r);
          omitted.push(res.results.filter((x) => x.status === "conflict" && x.omitted).length);
          return res;
        },
      }),
      network$: network,
    });
    await world.runtime.advance(1_000);
    network.next({ online: false, roaming: false });
    for (let i = 0; i < 10; i++) await a.put("consent", `d${i}`, { by: "a", pad: "x".repeat(60) });
    await world.runtime.advance(1_000);
    for (let i = 0; i < 10; i++) await b.put("consent", `d${i}`, { by: "b", pad: "y".repeat(60) });
    network.next({ online: true, roaming: false });
    await world.runtime.runUntil(() => b.status.state === "idle" && b.status.pending === 0, {
      maxMs: 600_000,
    });
    await world.runtime.advance(5_000);
    expect(Math.max(...omitted)).toBeGreaterThan(5);
    // lww: b's later writes win everywhere, and nothing is left queued.
    for (let i = 0; i < 10; i++) {
      expect(await b.get("consent", `d${i}`)).toMatchObject({ by: "b" });
      expect(await a.get("consent", `d${i}`)).toMatchObject({ by: "b" });
    }
    expect(server.documents("alice", MAIL.scope.appId).every((d) => d.data?.by === "b")).toBe(true);
    await a.stop();
    await b.stop();
  });
});
