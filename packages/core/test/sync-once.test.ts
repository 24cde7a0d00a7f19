import { BehaviorSubject } from "rxjs";
import { describe, expect, it } from "vitest";
import {
  createReplication,
  type DeviceSettings,
  type NetworkState,
  type PullRequest,
  type SyncOnceOptions,
  syncOnce,
} from "../src/index.js";
import { MemoryServer, MemoryStore, openRegistry } from "../src/testing/index.js";
import { MAIL, relay } from "./helpers.js";

const settings$ = new BehaviorSubject<DeviceSettings>({ backupEnabled: true, overseasEnabled: false });
const online$ = new BehaviorSubject<NetworkState>({ online: true, roaming: false });

function world() {
  const server = new MemoryServer({ registry: openRegistry([MAIL.scope.appId]), now: () => Date.now() });
  const options = (store: MemoryStore, deviceId: string): Omit<SyncOnceOptions, "deadlineMs"> => ({
    store,
    transport: server.connect({ accountId: "alice" }),
    accountId: "alice",
    app: MAIL.scope,
    deviceId,
    collections: MAIL.collections,
    settings$,
    network$: online$,
  });
  /** Another device backs up `count` documents. */
  const backUp = async (count: number) => {
    const other = createReplication({ ...options(new MemoryStore(), "other"), live: false });
    await other.start();
    await other.bulkWrite(
      Array.from({ length: count }, (_, i) => ({ collection: "settings", id: `s${i}`, data: { i } })),
    );
    expect((await other.sync({ timeoutMs: 10_000 })).outcome).toBe("synced");
    await other.stop();
  };
  return { server, options, backUp };
}

describe("syncOnce, a background task's run", () => {
  it("pushes what is queued and pulls what is new, without a live channel, and says how much", async () => {
    const { options, backUp } = world();
    await backUp(5);
    const store = new MemoryStore();
    // Queued while the app ran offline.
    const app = createReplication({
      ...options(store, "phone"),
      network$: new BehaviorSubject({ online: false, roaming: false }),
    });
    await app.start();
    for (const id of ["a", "b", "c"]) await app.put("consent", id, { agreed: true });
    await app.stop();

    let channels = 0;
    const base = options(store, "phone");
    const result = await syncOnce({
      ...base,
      transport: relay(base.transport, {
        live: (apps, o) => {
          channels++;
          return base.transport.live(apps, o);
        },
      }),
      deadlineMs: 10_000,
    });
    expect(result).toMatchObject({ outcome: "synced", acknowledged: true, pending: 0, pushed: 3, pulled: 5 });
    expect(result.elapsedMs).toBeLessThan(10_000);
    expect(channels).toBe(0);
    // With nothing to do, a run asks for the registry (policy) and pulls twice (the start's pull, and the check that
    // sync() makes after it was called); it pushes nothing.
    const asked: string[] = [];
    const idle = options(store, "phone");
    const again = await syncOnce({
      ...idle,
      transport: relay(idle.transport, {
        pull: (r) => {
          asked.push("pull");
          return idle.transport.pull(r);
        },
        push: (r) => {
          asked.push("push");
          return idle.transport.push(r);
        },
        registry: (p) => {
          asked.push("registry");
          return idle.transport.registry(p);
        },
        catalog: () => {
          asked.push("catalog");
          return idle.transport.catalog();
        },
      }),
      deadlineMs: 10_000,
    });
    expect(again).toMatchObject({ outcome: "synced", pushed: 0, pulled: 0 });
    expect(asked.sort()).toEqual(["pull", "pull", "registry"]);
  });

  it("ends at its deadline on a whole page, and the next run goes on from there", async () => {
    const { options, backUp } = world();
    await backUp(1000);
    const store = new MemoryStore();
    const base = options(store, "phone");
    // A slow network: each page takes 150 ms to arrive.
    const slow = relay(base.transport, {
      pull: async (r: PullRequest) => {
        await new Promise((resolve) => setTimeout(resolve, 150));
        return base.transport.pull(r);
      },
    });
    const first = await syncOnce({
      ...base,
      transport: slow,
      pullBatchSize: 100,
      pullBatchMax: 100,
      deadlineMs: 400,
    });
    expect(first.outcome).toBe("timed-out");
    expect(first.pulled).toBeGreaterThan(0);
    expect(first.pulled % 100).toBe(0);
    expect(first.pulled).toBeLessThan(1000);
    // The store holds exactly the pages the run committed, and its checkpoint is at the last of them.
    const reader = createReplication({
      ...options(store, "phone"),
      network$: new BehaviorSubject({ online: false, roaming: false }),
    });
    await reader.start();
    const held = (await reader.list("settings")).length;
    await reader.stop();
    expect(held).toBeGreaterThanOrEqual(first.pulled);
    expect(held % 100).toBe(0);

    const second = await syncOnce({ ...base, deadlineMs: 10_000 });
    expect(second.outcome).toBe("synced");
    expect(held + second.pulled).toBe(1000);
  });

  it("stops when its signal aborts, resolving as timed out", async () => {
    const { options, backUp } = world();
    await backUp(300);
    const base = options(new MemoryStore(), "phone");
    const controller = new AbortController();
    const slow = relay(base.transport, {
      pull: async (r: PullRequest) => {
        await new Promise((resolve) => setTimeout(resolve, 100));
        return base.transport.pull(r);
      },
    });
    setTimeout(() => controller.abort(), 150);
    const started = Date.now();
    const result = await syncOnce({
      ...base,
      transport: slow,
      pullBatchSize: 100,
      pullBatchMax: 100,
      deadlineMs: 30_000,
      signal: controller.signal,
    });
    expect(result.outcome).toBe("timed-out");
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("is held, and sends nothing, while policy holds backup (roaming with overseas use off)", async () => {
    const { options } = world();
    const base = options(new MemoryStore(), "phone");
    let requests = 0;
    const counted = relay(base.transport, {
      push: (r) => {
        requests++;
        return base.transport.push(r);
      },
      pull: (r) => {
        requests++;
        return base.transport.pull(r);
      },
    });
    const result = await syncOnce({
      ...base,
      transport: counted,
      network$: new BehaviorSubject({ online: true, roaming: true }),
      deadlineMs: 5000,
    });
    expect(result).toMatchObject({ outcome: "held", reason: "roaming" });
    expect(requests).toBe(0);
    await expect(syncOnce({ ...base, deadlineMs: 0 })).rejects.toMatchObject({ code: "bad-request" });
  });
});
