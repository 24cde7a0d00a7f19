import { filter, tap } from "rxjs";
import { describe, expect, it } from "vitest";
import {
  createReplication,
  HokanError,
  type LiveEvent,
  type PushRequest,
  type PushResponse,
  type RegistryEntry,
  type Replication,
  type ReplicationOptions,
  type Transport,
} from "../src/index.js";
import { MemoryStore, NO_FAULTS, openRegistry, type SimDevice, SimWorld } from "../src/testing/index.js";
import { MAIL, relay, serverDocs, startOn } from "./helpers.js";

/** A transport that records pushes and can rewrite them or refuse the registry. */
function spy(
  inner: Transport,
  options: { noRegistry?: boolean; rewrite?: (r: PushRequest, n: number) => PushRequest } = {},
) {
  const pushes: PushRequest[] = [];
  const transport: Transport = {
    ...inner,
    pull: (r) => inner.pull(r),
    push: (r) => {
      const sent = options.rewrite ? options.rewrite(r, pushes.length) : r;
      pushes.push(sent);
      return inner.push(sent);
    },
    registry: (p) =>
      options.noRegistry ? Promise.reject(new Error("registry unavailable")) : inner.registry(p),
    live: (a) => inner.live(a),
  };
  return { transport, pushes };
}

/** The mail app on a simulated device, but talking through `transport` (a spy around the device's link). */
function startBehind(
  world: SimWorld,
  device: SimDevice,
  transport: Transport,
  extra: Partial<ReplicationOptions> = {},
): Promise<Replication> {
  return startOn(world, device, MAIL, { ...extra, transport });
}

/** A phone that starts offline, whose pushes fail (a cut network) while `pushes.cut`; `sentEpochs` of those that went. */
function phoneWithCutPushes(world: SimWorld) {
  const phone = world.device({ id: "a", accountId: "alice" });
  phone.setOnline(false);
  const inner = phone.link.transport;
  const pushes = { cut: true, sentEpochs: [] as number[][] };
  const transport = relay(inner, {
    push: (r) => {
      if (pushes.cut) return Promise.reject(new HokanError("network", "cut"));
      pushes.sentEpochs.push(r.changes.map((c) => c.epoch));
      return inner.push(r);
    },
  });
  return { phone, transport, pushes };
}

const mailEntry = (patch: Partial<RegistryEntry>): RegistryEntry[] => [
  { ...(openRegistry([MAIL.scope.appId])[0] as RegistryEntry), ...patch },
];

describe("replication runner", () => {
  it("tells the app about local and restored changes", async () => {
    const world = new SimWorld();
    const a = await world.device({ id: "a", accountId: "alice" }).open(MAIL);
    const b = await world.device({ id: "b", accountId: "alice" }).open(MAIL);
    const seen: string[] = [];
    b.changes$.subscribe((c) => seen.push(`${c.origin}:${c.collection}/${c.id}`));
    await a.put("settings", "x", { v: 1 });
    await b.put("settings", "y", { v: 2 });
    await world.settle();
    expect(seen).toEqual(["local:settings/y", "remote:settings/x"]);
    await b.whenIdle();
    expect(b.status).toMatchObject({ state: "idle", pending: 0, inFlight: false });
    expect(b.status.lastPushAt).toBeGreaterThan(0);
    expect(b.status.lastPullAt).toBeGreaterThan(0);
  });

  it("hands the app documents it may change, whatever the store keeps", async () => {
    const world = new SimWorld();
    const mail = await world.device({ id: "a", accountId: "alice" }).open(MAIL);
    await mail.put("settings", "theme", { colors: { accent: "red" } });
    const read = await mail.get("settings", "theme");
    (read?.colors as { accent: string }).accent = "blue";
    const [listed] = await mail.list("settings");
    expect(listed?.data).toEqual({ colors: { accent: "red" } });
    (listed?.data.colors as { accent: string }).accent = "green";
    expect(await mail.get("settings", "theme")).toEqual({ colors: { accent: "red" } });
  });

  it("refuses documents that are not objects and collections the app did not declare", async () => {
    const world = new SimWorld();
    const a = await world.device({ id: "a", accountId: "alice" }).open(MAIL);
    await expect(a.put("settings", "x", [1] as never)).rejects.toMatchObject({ code: "bad-request" });
    await expect(a.put("photos", "x", { v: 1 })).rejects.toMatchObject({ code: "bad-request" });
    expect(a.status.pending).toBe(0);
  });

  it("writes a batch in one commit: last state per document wins, unchanged ones queue nothing", async () => {
    const world = new SimWorld();
    const device = world.device({ id: "a", accountId: "alice" });
    const a = await device.open(MAIL);
    await a.put("settings", "same", { v: 0 });
    await world.settle();
    const commits: number[] = [];
    const commit = device.store.commit.bind(device.store);
    device.store.commit = (ns, change) => {
      commits.push(change.outboxPut?.length ?? 0);
      return commit(ns, change);
    };
    const seen: string[] = [];
    a.changes$.subscribe((c) => seen.push(`${c.origin}:${c.id}:${JSON.stringify(c.data)}`));
    await a.bulkWrite([
      { collection: "settings", id: "x", data: { v: 1 } },
      { collection: "settings", id: "y", data: { v: 1 } },
      { collection: "settings", id: "x", data: { v: 2 } },
      { collection: "settings", id: "same", data: { v: 0 } },
      { collection: "settings", id: "gone", data: null },
    ]);
    expect(commits).toEqual([2]);
    expect(a.status.pending).toBe(2);
    expect(seen).toEqual(['local:y:{"v":1}', 'local:x:{"v":2}']);
    await world.settle();
    expect(serverDocs(world, "alice", MAIL.scope.appId)).toEqual({
      "settings/same": { v: 0 },
      "settings/x": { v: 2 },
      "settings/y": { v: 1 },
    });
    await a.bulkWrite([
      { collection: "settings", id: "x", data: null },
      { collection: "settings", id: "y", data: { v: 3 } },
    ]);
    await world.settle();
    expect(serverDocs(world, "alice", MAIL.scope.appId)).toEqual({
      "settings/same": { v: 0 },
      "settings/y": { v: 3 },
    });
  });

  it("does not pull its own pushes back, and still pulls what another device wrote in between", async () => {
    const world = new SimWorld();
    const phoneDevice = world.device({ id: "phone", accountId: "alice" });
    const pulled: string[] = [];
    const inner = phoneDevice.link.transport;
    const transport = relay(inner, {
      pull: async (r) => {
        const res = await inner.pull(r);
        pulled.push(...res.documents.map((d) => d.id));
        return res;
      },
    });
    const phone = await startBehind(world, phoneDevice, transport);
    const tablet = await world.device({ id: "tablet", accountId: "alice" }).open(MAIL);
    await world.settle();
    for (let v = 1; v <= 3; v++) {
      await phone.put("settings", `own-${v}`, { v });
      await world.settle();
    }
    expect(pulled).toEqual([]);
    // Too large to ride in its live hint: the phone pulls it.
    const theirs = { v: 1, text: "x".repeat(8000) };
    await tablet.put("settings", "theirs", theirs);
    await world.settle();
    await phone.put("settings", "own-4", { v: 4 });
    await world.settle();
    expect(pulled).toEqual(["theirs"]);
    expect(await phone.get("settings", "theirs")).toEqual(theirs);
    expect(phone.status.pending).toBe(0);
  });

  it("takes a small change from its live hint without a pull, and pulls when it missed one", async () => {
    const world = new SimWorld();
    const phoneDevice = world.device({ id: "phone", accountId: "alice" });
    let pulls = 0;
    const hints: LiveEvent[] = [];
    let hintsFlow = true;
    const inner = phoneDevice.link.transport;
    const transport = relay(inner, {
      pull: (r) => {
        pulls++;
        return inner.pull(r);
      },
      live: (apps) =>
        inner.live(apps).pipe(
          filter(() => hintsFlow),
          tap((e) => hints.push(e)),
        ),
    });
    const phone = await startBehind(world, phoneDevice, transport);
    const tablet = await world.device({ id: "tablet", accountId: "alice" }).open(MAIL);
    await world.settle();
    const before = pulls;
    await tablet.put("settings", "a", { v: 1 });
    await world.settle();
    expect(await phone.get("settings", "a")).toEqual({ v: 1 });
    expect(hints.at(-1)).toMatchObject({ type: "changed", after: 0, seq: 1 });
    expect(pulls).toBe(before);
    expect(phone.status.lastPullAt).toBeGreaterThan(0);
    // A hint lost on the way: the next one does not follow the checkpoint, so the phone pulls both changes.
    hintsFlow = false;
    await tablet.put("settings", "b", { v: 2 });
    await world.settle();
    hintsFlow = true;
    await tablet.put("settings", "c", { v: 3 });
    await world.settle();
    expect(pulls).toBe(before + 1);
    expect(await phone.list("settings")).toEqual([
      { id: "a", data: { v: 1 } },
      { id: "b", data: { v: 2 } },
      { id: "c", data: { v: 3 } },
    ]);
  });

  it("opens its live channel again with the app's new version after an update", async () => {
    const world = new SimWorld();
    const phoneDevice = world.device({ id: "phone", accountId: "alice" });
    const opened: string[][] = [];
    const inner = phoneDevice.link.transport;
    const transport = relay(inner, {
      live: (apps) => {
        opened.push(apps.map((a) => `${a.appId}@${a.appVersion}`));
        return inner.live(apps);
      },
    });
    const phone = await startBehind(world, phoneDevice, transport);
    await world.settle();
    expect(opened).toEqual([["jp.example.mail@3.0.0"]]);
    phone.setAppVersion("3.1.0");
    await world.settle();
    expect(opened).toEqual([["jp.example.mail@3.0.0"], ["jp.example.mail@3.1.0"]]);
    expect(world.server.liveSubscribers).toBe(1);
  });

  it("sends changes queued before first contact once, under the epoch its first pull learned", async () => {
    const world = new SimWorld();
    let listed = 0;
    class CountingStore extends MemoryStore {
      override listDocuments(...args: Parameters<MemoryStore["listDocuments"]>) {
        listed++;
        return super.listDocuments(...args);
      }
    }
    const phone = world.device({ id: "a", accountId: "alice", store: new CountingStore() });
    phone.setOnline(false);
    const { transport, pushes } = spy(phone.link.transport);
    const mail = await startBehind(world, phone, transport);
    await mail.bulkWrite([
      { collection: "settings", id: "x", data: { v: 1 } },
      { collection: "settings", id: "y", data: { v: 1 } },
    ]);
    await world.runtime.runUntil(() => mail.status.state === "idle");
    phone.setOnline(true);
    await world.settle();
    expect(pushes.map((p) => p.changes.map((c) => c.epoch))).toEqual([[1, 1]]);
    expect(Object.keys(serverDocs(world, "alice", MAIL.scope.appId))).toEqual(["settings/x", "settings/y"]);
    // Joining the epoch takes the queued changes only: no pass over every document.
    expect(listed).toBe(0);
  });

  it("joins changes queued before first contact to the server's epoch without rewriting them; a delete landing while they are in flight drops them", async () => {
    const world = new SimWorld();
    const rewrites: number[] = [];
    class CountingStore extends MemoryStore {
      override commit(...args: Parameters<MemoryStore["commit"]>) {
        // Entries put again under their own seq: rewrites of queued changes (new ones have placeholder seqs).
        for (const e of args[1].outboxPut ?? []) if (e.seq > 0) rewrites.push(e.seq);
        return super.commit(...args);
      }
    }
    const phone = world.device({ id: "a", accountId: "alice", store: new CountingStore() });
    phone.setOnline(false);
    const inner = phone.link.transport;
    const held: (() => void)[] = [];
    const sentEpochs: number[][] = [];
    const transport = relay(inner, {
      push: (r) => {
        sentEpochs.push(r.changes.map((c) => c.epoch));
        return new Promise((resolve, reject) => held.push(() => inner.push(r).then(resolve, reject)));
      },
    });
    const mail = await startBehind(world, phone, transport);
    await mail.bulkWrite([
      { collection: "settings", id: "x", data: { v: 1 } },
      { collection: "settings", id: "y", data: { v: 1 } },
    ]);
    phone.setOnline(true);
    await world.runtime.runUntil(() => held.length === 1);
    // The first pull learned epoch 1: the queued changes went under it with no write of their own.
    expect(sentEpochs).toEqual([[1, 1]]);
    expect(rewrites).toEqual([]);
    // Another device deletes the backup while the push is on its way; the server then refuses it (epoch 1 is gone).
    const tablet = world.device({ id: "b", accountId: "alice" });
    await world.run(tablet.link.transport.deleteAll("delete-1"));
    (held.shift() as () => void)();
    await world.runtime.runUntil(() => mail.status.state === "idle");
    await world.settle();
    // Made before the delete, so dropped: never sent again under epoch 2. The device keeps its own data.
    expect(sentEpochs).toEqual([[1, 1]]);
    expect(serverDocs(world, "alice", MAIL.scope.appId)).toEqual({});
    expect(mail.status).toMatchObject({ pending: 0, epoch: 2 });
    expect(await mail.get("settings", "x")).toEqual({ v: 1 });
    // A change made after learning of the delete is backed up.
    await mail.put("settings", "x", { v: 2 });
    await world.runtime.runUntil(() => held.length === 1);
    (held.shift() as () => void)();
    await world.runtime.runUntil(() => mail.status.state === "idle" && mail.status.pending === 0);
    expect(sentEpochs.at(-1)).toEqual([2]);
    expect(serverDocs(world, "alice", MAIL.scope.appId)).toEqual({ "settings/x": { v: 2 } });
  });

  it("coalesces a write after first contact into the change queued before it", async () => {
    const world = new SimWorld();
    const { phone, transport, pushes } = phoneWithCutPushes(world);
    const mail = await startBehind(world, phone, transport);
    await mail.put("settings", "x", { v: 1 });
    phone.setOnline(true);
    await world.runtime.runUntil(() => mail.status.epoch === 1 && mail.status.lastError !== undefined);
    await mail.put("settings", "x", { v: 2 });
    expect(mail.status.pending).toBe(1);
    pushes.cut = false;
    await world.runtime.runUntil(() => mail.status.state === "idle" && mail.status.pending === 0);
    expect(serverDocs(world, "alice", MAIL.scope.appId)).toEqual({ "settings/x": { v: 2 } });
  });

  it("drops changes queued before first contact, never sent, when a delete comes after that contact", async () => {
    const world = new SimWorld();
    const { phone, transport, pushes } = phoneWithCutPushes(world);
    const mail = await startBehind(world, phone, transport);
    await mail.bulkWrite([{ collection: "settings", id: "x", data: { v: 1 } }]);
    phone.setOnline(true);
    await world.runtime.runUntil(() => mail.status.epoch === 1 && mail.status.lastError !== undefined);
    const tablet = world.device({ id: "b", accountId: "alice" });
    await world.run(tablet.link.transport.deleteAll("delete-1"));
    await mail.refresh();
    await world.runtime.runUntil(() => mail.status.epoch === 2);
    pushes.cut = false;
    await world.settle();
    expect(pushes.sentEpochs).toEqual([]);
    expect(serverDocs(world, "alice", MAIL.scope.appId)).toEqual({});
    expect(mail.status.pending).toBe(0);
    expect(await mail.get("settings", "x")).toEqual({ v: 1 });
  });

  it("sends up to pushesInFlight batches of distinct documents side by side, and keeps an answered one when the other fails", async () => {
    const world = new SimWorld();
    const phone = world.device({ id: "a", accountId: "alice" });
    phone.setOnline(false);
    let open = 0;
    let most = 0;
    let failNext = true;
    const keys: string[] = [];
    const inner = phone.link.transport;
    const transport = relay(inner, {
      push: async (r) => {
        keys.push(r.idempotencyKey);
        open++;
        most = Math.max(most, open);
        try {
          if (r.changes.some((c) => c.id === "d3") && failNext) {
            failNext = false;
            throw new HokanError("network", "cut");
          }
          return await inner.push(r);
        } finally {
          open--;
        }
      },
    });
    const mail = await startBehind(world, phone, transport, { pushBatchSize: 2, pushesInFlight: 2 });
    await mail.bulkWrite([0, 1, 2, 3].map((i) => ({ collection: "settings", id: `d${i}`, data: { v: i } })));
    phone.setOnline(true);
    await world.runtime.runUntil(() => mail.status.state === "idle" && mail.status.pending === 0);
    expect(most).toBe(2);
    // The batch with d3 failed once: it went again under the same key; the other batch was not sent again.
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size).toBe(2);
    expect(Object.keys(serverDocs(world, "alice", MAIL.scope.appId)).sort()).toEqual([
      "settings/d0",
      "settings/d1",
      "settings/d2",
      "settings/d3",
    ]);
    expect(mail.status.pending).toBe(0);
  });

  it("sends the next batch as soon as an answer is committed, and commits answers in the order the server applied them", async () => {
    const world = new SimWorld();
    const phone = world.device({ id: "a", accountId: "alice" });
    phone.setOnline(false);
    const inner = phone.link.transport;
    let pulls = 0;
    // Each push waits to be applied by the server, then waits for its answer to be delivered.
    const held: { id: string; apply: () => void; answer: () => void }[] = [];
    const transport = relay(inner, {
      push: (r) =>
        new Promise((resolve, reject) => {
          let applied: Promise<PushResponse> | undefined;
          held.push({
            id: r.changes.map((c) => c.id).join(","),
            apply: () => {
              applied = inner.push(r);
            },
            answer: () => {
              applied?.then(resolve, reject);
            },
          });
        }),
      pull: (r) => {
        pulls++;
        return inner.pull(r);
      },
    });
    const mail = await startBehind(world, phone, transport, { pushBatchSize: 1, pushesInFlight: 2 });
    await mail.bulkWrite([0, 1, 2, 3].map((i) => ({ collection: "settings", id: `d${i}`, data: { v: i } })));
    phone.setOnline(true);
    await world.runtime.runUntil(() => held.length === 2);
    const pullsBefore = pulls;
    const at = (id: string) => held.find((h) => h.id === id) as (typeof held)[number];
    // d0 answered while d1 is not: the next batch goes out at once.
    at("d0").apply();
    at("d0").answer();
    await world.runtime.runUntil(() => held.length === 3);
    expect(held.map((h) => h.id)).toEqual(["d0", "d1", "d2"]);
    expect(mail.status.pending).toBe(3);
    // The server applies d2 before d1: its answer follows the checkpoint and is committed without waiting for d1.
    at("d2").apply();
    at("d2").answer();
    await world.runtime.runUntil(() => held.length === 4);
    expect(mail.status.pending).toBe(2);
    // d1 applied, then d3, whose answer comes first: it waits for d1, which the server applied before it.
    at("d1").apply();
    at("d3").apply();
    at("d3").answer();
    await world.runtime.advance(10);
    expect(mail.status.pending).toBe(2);
    at("d1").answer();
    await world.runtime.runUntil(() => mail.status.state === "idle" && mail.status.pending === 0);
    expect(held).toHaveLength(4);
    expect(Object.keys(serverDocs(world, "alice", MAIL.scope.appId))).toHaveLength(4);
    // Every answer moved the checkpoint past the device's own push: nothing of its own is pulled back.
    expect(pulls).toBe(pullsBefore);
  });

  it("reads queued changes for an answer only of documents written again while their push was in flight", async () => {
    const world = new SimWorld();
    const asked: string[][] = [];
    class WatchedStore extends MemoryStore {
      override outboxFor(...args: Parameters<MemoryStore["outboxFor"]>) {
        asked.push(args[1].map((k) => k.id));
        return super.outboxFor(...args);
      }
    }
    const phone = world.device({ id: "a", accountId: "alice", store: new WatchedStore() });
    phone.setOnline(false);
    const inner = phone.link.transport;
    const held: (() => void)[] = [];
    const transport = relay(inner, {
      push: (r) => new Promise((resolve, reject) => held.push(() => inner.push(r).then(resolve, reject))),
    });
    const mail = await startBehind(world, phone, transport);
    await mail.bulkWrite([0, 1, 2].map((i) => ({ collection: "settings", id: `d${i}`, data: { v: i } })));
    phone.setOnline(true);
    await world.runtime.runUntil(() => held.length === 1);
    await mail.put("settings", "d1", { v: 10 });
    asked.length = 0;
    (held.shift() as () => void)();
    await world.runtime.runUntil(() => held.length === 1);
    // The answer's plan read d1's queued changes (its later write), not d0's or d2's.
    expect(asked[0]).toEqual(["d1"]);
    asked.length = 0;
    (held.shift() as () => void)();
    await world.runtime.runUntil(() => mail.status.state === "idle" && mail.status.pending === 0);
    expect(asked[0]).toEqual([]);
    expect(serverDocs(world, "alice", MAIL.scope.appId)).toMatchObject({
      "settings/d0": { v: 0 },
      "settings/d1": { v: 10 },
      "settings/d2": { v: 2 },
    });
  });

  it.each([
    ["accepted", false],
    ["refused for good", true],
  ])(
    "keeps a change another tab made to a document while its earlier change was in flight (%s)",
    async (_, refuse) => {
      const world = new SimWorld();
      const phone = world.device({ id: "a", accountId: "alice" });
      const inner = phone.link.transport;
      const held: (() => void)[] = [];
      const answer = async (r: PushRequest): Promise<PushResponse> => {
        const res = await inner.push(r);
        if (!refuse || held.length > 0 || r.changes[0]?.data?.v !== 1) return res;
        const results = res.results.map((x) => ({
          changeId: x.changeId,
          status: "rejected" as const,
          code: "too-large",
          message: "too large",
        }));
        return { ...res, results };
      };
      const transport = relay(inner, {
        push: (r) => new Promise((resolve, reject) => held.push(() => answer(r).then(resolve, reject))),
      });
      const leader = await startBehind(world, phone, transport);
      // Another tab: its own (stopped) replication on the same store, which cannot know what the leader has in flight.
      const other = createReplication({
        store: phone.store,
        transport,
        accountId: "alice",
        app: MAIL.scope,
        deviceId: "a",
        collections: MAIL.collections,
        settings$: phone.settings$,
        network$: phone.link.network.state$,
        runtime: world.runtime,
      });
      await leader.put("settings", "d", { v: 1 });
      await world.runtime.runUntil(() => held.length === 1);
      await other.put("settings", "d", { v: 2 });
      (held.shift() as () => void)();
      // The answer to v: 1 leaves the other tab's change queued: it goes next.
      const done = () => leader.status.state === "idle" && leader.status.pending === 0;
      await world.runtime.runUntil(() => held.length === 1 || done());
      held.shift()?.();
      await world.runtime.runUntil(done);
      expect(serverDocs(world, "alice", MAIL.scope.appId)).toEqual({ "settings/d": { v: 2 } });
      expect(leader.status.rejected).toBe(0);
      expect(leader.status.lastError).toBeUndefined();
    },
  );

  it("pulls what another device wrote while its own push was in flight, once the push is answered", async () => {
    const world = new SimWorld();
    const phoneDevice = world.device({ id: "phone", accountId: "alice" });
    const inner = phoneDevice.link.transport;
    const held: (() => void)[] = [];
    const transport = relay(inner, {
      push: (r) => new Promise((resolve, reject) => held.push(() => inner.push(r).then(resolve, reject))),
    });
    const phone = await startBehind(world, phoneDevice, transport);
    const tablet = await world.device({ id: "tablet", accountId: "alice" }).open(MAIL);
    await world.settle();
    await phone.put("settings", "own", { v: 1 });
    await world.runtime.runUntil(() => held.length === 1);
    // The tablet's change reaches the server first; its hint comes while the phone's push is in flight.
    await tablet.put("settings", "theirs", { v: 2 });
    await world.runtime.advance(100);
    expect(await phone.get("settings", "theirs")).toBeUndefined();
    held[0]?.();
    await world.settle();
    expect(await phone.get("settings", "theirs")).toEqual({ v: 2 });
    expect(phone.status.pending).toBe(0);
  });

  it("asks for the next page as soon as a page arrives, while it commits that page", async () => {
    const world = new SimWorld();
    const writer = await world.device({ id: "w", accountId: "alice" }).open(MAIL);
    await writer.bulkWrite([0, 1, 2].map((i) => ({ collection: "settings", id: `d${i}`, data: { v: i } })));
    await world.settle();
    let release: (() => void) | undefined;
    class SlowStore extends MemoryStore {
      override async commit(...args: Parameters<MemoryStore["commit"]>): Promise<number[]> {
        if (args[1].documents?.length) await new Promise<void>((resolve) => (release = resolve));
        return super.commit(...args);
      }
    }
    const reader = world.device({ id: "r", accountId: "alice", store: new SlowStore() });
    const asked: number[] = [];
    const inner = reader.link.transport;
    const transport = relay(inner, {
      pull: (r) => {
        asked.push(r.checkpoint.seq);
        return inner.pull(r);
      },
    });
    const mail = await startBehind(world, reader, transport, { pullBatchSize: 1, pullBatchMax: 1 });
    await world.runtime.runUntil(() => release !== undefined);
    // The first page's commit is held; the second page was asked for already, from the first page's checkpoint.
    expect(asked).toEqual([0, 1]);
    for (let i = 0; i < 3; i++) {
      await world.runtime.runUntil(() => release !== undefined);
      const go = release as () => void;
      release = undefined;
      go();
    }
    await world.runtime.runUntil(() => mail.status.state === "idle");
    expect(asked).toEqual([0, 1, 2]);
    expect((await mail.list("settings")).map((d) => d.data)).toEqual([{ v: 0 }, { v: 1 }, { v: 2 }]);
  });

  it("asks for twice as many documents with each page of a pull, up to pullBatchMax", async () => {
    const world = new SimWorld();
    const writer = await world.device({ id: "w", accountId: "alice" }).open(MAIL);
    const docs = Array.from({ length: 10 }, (_, i) => ({
      collection: "settings",
      id: `d${i}`,
      data: { v: i },
    }));
    await writer.bulkWrite(docs);
    await world.settle();
    const reader = world.device({ id: "r", accountId: "alice" });
    const inner = reader.link.transport;
    const limits: number[] = [];
    const transport = relay(inner, {
      pull: (r) => {
        limits.push(r.limit);
        return inner.pull(r);
      },
    });
    const mail = await startBehind(world, reader, transport, { pullBatchSize: 1, pullBatchMax: 4 });
    await world.runtime.runUntil(() => mail.status.state === "idle");
    expect(limits).toEqual([1, 2, 4, 4]);
    expect((await mail.list("settings")).map((d) => d.id).sort()).toEqual(docs.map((d) => d.id).sort());
    // A later pull starts small again (a change too large to ride in its live hint).
    limits.length = 0;
    const big = { v: 99, text: "x".repeat(8000) };
    await writer.put("settings", "d0", big);
    await world.settle();
    expect(limits[0]).toBe(1);
    expect(await mail.get("settings", "d0")).toEqual(big);
  });

  it("refuses a batch with a bad document or collection and writes none of it", async () => {
    const world = new SimWorld();
    const a = await world.device({ id: "a", accountId: "alice" }).open(MAIL);
    const ok = { collection: "settings", id: "ok", data: { v: 1 } };
    await expect(
      a.bulkWrite([ok, { collection: "settings", id: "bad", data: [1] as never }]),
    ).rejects.toMatchObject({
      code: "bad-request",
    });
    await expect(a.bulkWrite([ok, { collection: "photos", id: "p", data: { v: 1 } }])).rejects.toMatchObject({
      code: "bad-request",
    });
    expect(a.status.pending).toBe(0);
    expect(await a.get("settings", "ok")).toBeUndefined();
  });

  it("retries a failing server with growing pauses, then succeeds once it works", async () => {
    const world = new SimWorld();
    const phone = world.device({ id: "a", accountId: "alice" });
    const mail = await phone.open(MAIL);
    await world.settle();
    world.network.faults = { ...world.network.faults, dropRequest: 1 };
    const before = world.network.stats.pushes;
    const probesBefore = world.network.stats.probes;
    await mail.put("settings", "x", { v: 1 });
    await world.runtime.advance(10 * 60_000);
    const attempts = world.network.stats.pushes - before;
    // 500 ms doubling to a 60 s cap, with jitter: about 15 tries in ten minutes, not thousands (each try is up to 3
    // requests of the transport's quick retries in a real one).
    expect(attempts).toBeGreaterThan(8);
    expect(attempts).toBeLessThan(40);
    // Meanwhile it asked every 2.5 to 5 s whether the server can be reached: cheap requests, bounded.
    const probes = world.network.stats.probes - probesBefore;
    expect(probes).toBeGreaterThan(60);
    expect(probes).toBeLessThan(240);
    expect(mail.status.state).toBe("backoff");
    expect(mail.status.lastError?.code).toBe("network");
    world.network.faults = { ...world.network.faults, dropRequest: 0 };
    await world.runtime.advance(61_000);
    await world.settle();
    expect(serverDocs(world, "alice", MAIL.scope.appId)).toEqual({ "settings/x": { v: 1 } });
    expect(mail.status.lastError).toBeUndefined();
  });

  it("stops on upgrade-required from the server, keeps the data, and syncs after the app is upgraded", async () => {
    const world = new SimWorld({ registry: mailEntry({ minVersion: "4.0.0" }) });
    const phone = world.device({ id: "a", accountId: "alice" });
    const { transport } = spy(phone.link.transport, { noRegistry: true });
    const mail = await startBehind(world, phone, transport);
    await mail.put("consent", "tos", { version: 7, accepted: true });
    await world.runtime.runUntil(() => mail.status.state === "fatal");
    expect(mail.status.lastError?.code).toBe("upgrade-required");
    const requests = world.network.stats.requests;
    await world.runtime.advance(30 * 60_000);
    expect(world.network.stats.requests).toBe(requests);
    expect(mail.status.pending).toBe(1);
    expect(await mail.get("consent", "tos")).toEqual({ version: 7, accepted: true });
    mail.setAppVersion("4.0.0");
    await world.runtime.runUntil(() => mail.status.state === "idle" && mail.status.pending === 0);
    expect(serverDocs(world, "alice", MAIL.scope.appId)).toEqual({
      "consent/tos": { version: 7, accepted: true },
    });
    await mail.stop();
  });

  it("follows the registry: a retired app backs up nothing and says why", async () => {
    const world = new SimWorld({
      registry: mailEntry({ retiredAt: "2020-01-01T00:00:00Z", restoreGraceDays: 100_000 }),
    });
    const mail = await world.device({ id: "a", accountId: "alice" }).open(MAIL);
    await mail.put("settings", "x", { v: 1 });
    await world.settle();
    expect(mail.status.backup).toEqual({ kind: "denied", reason: "retired" });
    expect(mail.status.restore.kind).toBe("allowed");
    expect(mail.status.pending).toBe(1);
    expect(world.server.log).toEqual([]);
  });

  it("holds backup on a platform without the capability and still restores there", async () => {
    const registry: RegistryEntry[] = [
      { appId: MAIL.scope.appId, platform: "android", capabilities: ["backup", "restore"] },
      { appId: MAIL.scope.appId, platform: "ios", capabilities: ["restore"] },
    ];
    const world = new SimWorld({ registry });
    const android = await world.device({ id: "a", accountId: "alice" }).open(MAIL);
    const iphone = await world.device({ id: "i", accountId: "alice", platform: "ios" }).open(MAIL);
    await android.put("settings", "x", { v: 1 });
    await iphone.put("settings", "y", { v: 2 });
    await world.settle();
    expect(iphone.status.backup).toEqual({ kind: "denied", reason: "capability" });
    expect(await iphone.get("settings", "x")).toEqual({ v: 1 });
    expect(serverDocs(world, "alice", MAIL.scope.appId)).toEqual({ "settings/x": { v: 1 } });
  });

  it("keeps a document the server refuses as too large, reports it, and sends the rest", async () => {
    const world = new SimWorld();
    const mail = await world.device({ id: "a", accountId: "alice" }).open(MAIL);
    await world.settle();
    await mail.put("settings", "huge", { blob: "x".repeat(300 * 1024) });
    await mail.put("settings", "small", { v: 1 });
    await world.settle();
    expect(serverDocs(world, "alice", MAIL.scope.appId)).toEqual({ "settings/small": { v: 1 } });
    expect(mail.status).toMatchObject({ pending: 1, rejected: 1, state: "idle" });
    expect(mail.status.lastError).toMatchObject({ code: "payload-too-large", retryable: false });
    expect(mail.status.lastError?.message).toContain("settings/huge");
    await mail.put("settings", "huge", { blob: "small now" });
    await world.settle();
    expect(mail.status).toMatchObject({ pending: 0, rejected: 0 });
    expect(mail.status.lastError).toBeUndefined();
    expect(serverDocs(world, "alice", MAIL.scope.appId)["settings/huge"]).toEqual({ blob: "small now" });
  });

  it("sends a small change to a big document as a patch, and the whole document when a patch is refused", async () => {
    const world = new SimWorld();
    const phone = world.device({ id: "a", accountId: "alice" });
    const { transport, pushes } = spy(phone.link.transport, {
      rewrite: (r, n) =>
        n === 1
          ? {
              ...r,
              changes: r.changes.map((c) =>
                c.patch ? { ...c, patch: [{ op: "remove", path: "/nope" }] } : c,
              ),
            }
          : r,
    });
    const mail = await startBehind(world, phone, transport);
    await world.runtime.runUntil(() => mail.status.state === "idle");
    const big = { text: "lorem ipsum ".repeat(200), count: 1 };
    await mail.put("settings", "doc", big);
    await world.runtime.runUntil(() => mail.status.state === "idle" && mail.status.pending === 0);
    await mail.put("settings", "doc", { ...big, count: 2 });
    await world.runtime.runUntil(() => mail.status.state === "idle" && mail.status.pending === 0);
    await mail.put("settings", "doc", { ...big, count: 3 });
    await world.runtime.runUntil(() => mail.status.state === "idle" && mail.status.pending === 0);
    const shapes = pushes.map((p) => p.changes.map((c) => (c.patch ? "patch" : "data")).join());
    // The second push's patch is spoiled on the way: the server refuses it and the document goes whole instead.
    expect(shapes).toEqual(["data", "patch", "data", "patch"]);
    expect(serverDocs(world, "alice", MAIL.scope.appId)["settings/doc"]).toEqual({ ...big, count: 3 });
    await mail.stop();
  });

  it("stops backing up when the quota is used up and says so", async () => {
    const world = new SimWorld({ quotaBytes: 1000 });
    const mail = await world.device({ id: "a", accountId: "alice" }).open(MAIL);
    await mail.put("settings", "a", { blob: "x".repeat(600) });
    await world.settle();
    await mail.put("settings", "b", { blob: "y".repeat(600) });
    await world.settle();
    const requests = world.network.stats.requests;
    await world.runtime.advance(30 * 60_000);
    expect(world.network.stats.requests).toBe(requests);
    expect(mail.status.backup).toEqual({ kind: "denied", reason: "quota" });
    expect(mail.status.pending).toBe(1);
    expect(Object.keys(serverDocs(world, "alice", MAIL.scope.appId))).toEqual(["settings/a"]);
  });

  it("leaves no timer and no live channel behind once stopped", async () => {
    const world = new SimWorld({ seed: 3, registry: mailEntry({ retiredAt: "2099-01-01T00:00:00Z" }) });
    const a = world.device({ id: "a", accountId: "alice" });
    const b = world.device({ id: "b", accountId: "alice" });
    const [ma, mb] = [await a.open(MAIL), await b.open(MAIL)];
    await ma.put("settings", "x", { v: 1 });
    await world.settle();
    world.network.faults = { ...world.network.faults, dropRequest: 1 };
    await mb.put("settings", "y", { v: 2 });
    await world.runtime.advance(5_000);
    expect(mb.status.state).toBe("backoff");
    expect(world.server.liveSubscribers).toBe(2);
    await world.close();
    await world.runtime.advance(1_000);
    expect(world.server.liveSubscribers).toBe(0);
    expect(world.runtime.pendingTimers).toBe(0);
  });

  it("stops for good when stop() is called while it is still starting", async () => {
    const world = new SimWorld();
    const phone = world.device({ id: "a", accountId: "alice" });
    const mail = await phone.open(MAIL);
    await mail.stop();
    const starting = mail.start();
    const stopping = mail.stop();
    await Promise.all([starting, stopping]);
    await mail.put("settings", "x", { v: 1 });
    await world.runtime.advance(10_000);
    expect(mail.status.state).toBe("stopped");
    expect(world.server.log).toEqual([]);
    expect(world.server.liveSubscribers).toBe(0);
  });

  describe("restore-before-write guard (scenario 3)", () => {
    it("makes first-launch reads and defaults wait for the restore, so defaults never overwrite the backup", async () => {
      const world = new SimWorld({ faults: { ...NO_FAULTS, delayMs: [200, 400] } });
      const old = await world.device({ id: "old", accountId: "alice" }).open(MAIL);
      await old.put("consent", "tos", { version: 3, accepted: true });
      await world.settle();
      const fresh = world.device({ id: "fresh", accountId: "alice" });
      const mail = await startBehind(world, fresh, fresh.link.transport, {
        restoreFirst: { timeoutMs: 10_000 },
      });
      // On first launch the app sets its defaults at once; the guard holds them until the backup is restored.
      let settled = false;
      const defaults = Promise.all([
        mail.putDefault("consent", "tos", { version: 0, accepted: false }),
        mail.putDefault("settings", "theme", { mode: "light" }),
      ]).finally(() => {
        settled = true;
      });
      await world.runtime.advance(1);
      expect(mail.status.awaitingRestore).toBe(true);
      expect(settled).toBe(false);
      expect(await world.run(defaults)).toEqual([false, true]);
      expect(mail.status.awaitingRestore).toBe(false);
      await world.settle();
      expect(await mail.get("consent", "tos")).toEqual({ version: 3, accepted: true });
      expect(await mail.get("settings", "theme")).toEqual({ mode: "light" });
      expect(world.server.log.map((l) => l.document.data)).toEqual([
        { version: 3, accepted: true },
        { mode: "light" },
      ]);
      await mail.stop();
    });

    it("lets writes through after the timeout when no restore is possible (offline first launch)", async () => {
      const world = new SimWorld();
      const fresh = world.device({ id: "fresh", accountId: "alice", online: false });
      const mail = await startBehind(world, fresh, fresh.link.transport, {
        restoreFirst: { timeoutMs: 3_000 },
      });
      const write = mail.put("settings", "theme", { mode: "dark" });
      await world.runtime.advance(2_000);
      expect(mail.status.awaitingRestore).toBe(true);
      await world.runtime.advance(1_500);
      await write;
      expect(await mail.get("settings", "theme")).toEqual({ mode: "dark" });
      expect(mail.status.awaitingRestore).toBe(false);
      await mail.stop();
    });

    it("does not wait on a device that restored before", async () => {
      const world = new SimWorld();
      const device = world.device({ id: "d", accountId: "alice" });
      const first = await startBehind(world, device, device.link.transport, {
        restoreFirst: { timeoutMs: 60_000 },
      });
      await world.settle();
      await first.stop();
      device.setOnline(false);
      const again = await startBehind(world, device, device.link.transport, {
        restoreFirst: { timeoutMs: 60_000 },
      });
      await again.put("settings", "x", { v: 1 });
      expect(again.status.awaitingRestore).toBeFalsy();
      await again.stop();
    });
  });
});
