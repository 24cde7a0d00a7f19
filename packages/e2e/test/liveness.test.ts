import {
  type DroppedChanges,
  type RegistryEntry,
  type Replication,
  randomId,
  systemRuntime,
} from "@hokan/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type Cluster,
  type DatabaseKind,
  Device,
  type DeviceTuning,
  MAIL,
  settingsScreen,
  settled,
  startCluster,
  until,
} from "../src/harness.js";

/**
 * Liveness on the real server over HTTP: a connection frozen by the network (no bytes, no error) is noticed and left,
 * and an app learns when each of its writes is safe on the server, or why it never will be.
 */

const all = ["backup", "restore", "bulkBackup", "bulkDelete"] as const;
const REGISTRY: RegistryEntry[] = [{ appId: MAIL.appId, platform: "android", capabilities: [...all] }];

/**
 * The server's heartbeat here, and the devices' deadlines well under it: each connection frozen in a pool costs the
 * request that picks it up one `connectMs`.
 */
const HEARTBEAT_MS = 1000;
const TUNING: DeviceTuning = {
  timeouts: { connectMs: 300, idleMs: 300, perChangeMs: 1, perDocumentMs: 0.05, perKiBMs: 0 },
  probeMs: 250,
  backoff: { baseMs: 200, maxMs: 20_000 },
};

/** Follows a promise without awaiting it. */
function watch(p: Promise<unknown>): {
  state: "pending" | "resolved" | "rejected";
  at?: number;
  error?: unknown;
} {
  const w: { state: "pending" | "resolved" | "rejected"; at?: number; error?: unknown } = {
    state: "pending",
  };
  p.then(
    () => {
      w.state = "resolved";
      w.at = Date.now();
    },
    (error: unknown) => {
      w.state = "rejected";
      w.error = error;
    },
  );
  return w;
}

const holdsAll = async (r: Replication, ids: readonly string[]) => {
  for (const id of ids) if ((await r.get("settings", id)) === undefined) return false;
  return true;
};

for (const kind of ["pglite", "postgres"] as DatabaseKind[]) {
  describe(`liveness on ${kind}`, () => {
    let cluster: Cluster;
    const devices: Device[] = [];
    const account = () => `acct-${randomId(systemRuntime)}`;
    const device = (id: string, accountId: string) => {
      const d = new Device(cluster.proxy.url, `${id}-${randomId(systemRuntime)}`, accountId, "android", {
        tuning: TUNING,
      });
      devices.push(d);
      return d;
    };

    beforeAll(async () => {
      cluster = await startCluster(kind, REGISTRY, 7, { liveHeartbeatMs: HEARTBEAT_MS });
    }, 60_000);
    afterEach(async () => {
      cluster.proxy.thaw();
      cluster.proxy.faults = { cutRequest: 0, dropResponse: 0, maxDelayMs: 0 };
      for (const d of devices.splice(0)) await d.close();
    });
    afterAll(async () => {
      await cluster?.close();
    });

    it("devices whose connections froze converge within two heartbeat intervals of the freeze ending, nothing lost", async () => {
      const alice = account();
      const a = device("a", alice);
      const b = device("b", alice);
      const mailA = await a.start(MAIL);
      const mailB = await b.start(MAIL);
      await settled([a, b]);
      const ids: string[] = [];
      const receipts: ReturnType<typeof watch>[] = [];
      const write = async (r: Replication, id: string) => {
        ids.push(id);
        receipts.push(watch(r.acknowledged(await r.put("settings", id, { v: id }))));
      };
      for (let i = 0; i < 5; i++) {
        await write(mailA, `a-before-${i}`);
        await write(mailB, `b-before-${i}`);
      }
      // Every connection open now goes silent for good; new ones too, for five seconds.
      cluster.proxy.freeze();
      for (let i = 0; i < 20; i++) {
        await write(mailA, `a-frozen-${i}`);
        await write(mailB, `b-frozen-${i}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 3_000));
      expect(cluster.proxy.stats.frozen).toBeGreaterThan(0);
      cluster.proxy.thaw();
      const thawed = Date.now();
      await until(
        async () =>
          (await holdsAll(mailA, ids)) &&
          (await holdsAll(mailB, ids)) &&
          mailA.status.pending === 0 &&
          mailB.status.pending === 0,
        30_000,
      );
      const took = Date.now() - thawed;
      console.log(`[${kind}] converged ${took} ms after the freeze ended (heartbeat ${HEARTBEAT_MS} ms)`);
      expect(took).toBeLessThanOrEqual(2 * HEARTBEAT_MS);
      await until(() => receipts.every((w) => w.state !== "pending"), 5_000);
      expect(receipts.every((w) => w.state === "resolved")).toBe(true);
      const docs = await settingsScreen(cluster.proxy.url, alice).catalog();
      expect(docs.apps.find((x) => x.appId === MAIL.appId)?.documents).toBe(ids.length);
    }, 60_000);

    it("acknowledges a write only after the server committed it, though the answer was lost on the way", async () => {
      const alice = account();
      const a = device("a", alice);
      const mail = await a.start(MAIL);
      await settled([a]);
      const reader = await device("r", alice).start(MAIL);
      // Every answer is lost, the live channel's included: the server commits, the device never hears.
      cluster.proxy.faults = { cutRequest: 0, dropResponse: 1, maxDelayMs: 0 };
      cluster.proxy.cutAll();
      const ack = watch(mail.acknowledged(await mail.put("settings", "x", { v: 1 })));
      const committedAt = { at: 0 };
      await until(async () => {
        const rows = await cluster.db.query<{ n: string | number }>(
          "SELECT count(*) AS n FROM documents WHERE id = 'x' AND account_id = $1",
          [alice],
        );
        if (Number(rows[0]?.n ?? 0) > 0) committedAt.at ||= Date.now();
        return committedAt.at > 0;
      }, 10_000);
      await new Promise((r) => setTimeout(r, 1_000));
      expect(ack.state).toBe("pending");
      cluster.proxy.faults = { cutRequest: 0, dropResponse: 0, maxDelayMs: 0 };
      await until(() => ack.state !== "pending", 20_000);
      expect(ack.state).toBe("resolved");
      expect(ack.at ?? 0).toBeGreaterThan(committedAt.at);
      await until(async () => (await reader.get("settings", "x")) !== undefined, 10_000);
    }, 60_000);

    it("tells the app of writes a bulk delete dropped, and refuses their acknowledgement with `deleted`", async () => {
      const alice = account();
      const a = device("a", alice);
      const mail = await a.start(MAIL);
      await mail.put("settings", "old", { v: 0 });
      await settled([a]);
      a.setOnline(false);
      const receipts = [];
      for (let i = 0; i < 5; i++) receipts.push(await mail.put("settings", `x${i}`, { v: i }));
      const acks = receipts.map((r) => watch(mail.acknowledged(r)));
      const all = watch(mail.whenAcknowledged());
      const dropped: DroppedChanges[] = [];
      mail.dropped$.subscribe((d) => dropped.push(d));
      // whenIdle() rests at once offline, without the writes being safe; the per-write waits go on.
      expect(await mail.whenIdle()).toMatchObject({ idle: true, acknowledged: false });
      const result = await settingsScreen(cluster.proxy.url, alice).deleteAll(
        `bulk-${randomId(systemRuntime)}`,
      );
      expect(result.apps.map((x) => x.appId)).toEqual([MAIL.appId]);
      a.setOnline(true);
      await until(() => acks.every((w) => w.state !== "pending") && all.state !== "pending", 20_000);
      expect(acks.map((w) => (w.error as { code?: string } | undefined)?.code)).toEqual(
        Array(5).fill("deleted"),
      );
      expect(all.state).toBe("rejected");
      expect(all.error).toMatchObject({ code: "deleted" });
      expect(dropped.flatMap((d) => d.documents.map((x) => x.id)).sort()).toEqual([
        "x0",
        "x1",
        "x2",
        "x3",
        "x4",
      ]);
      expect(mail.status).toMatchObject({ pending: 0, dropped: 5 });
    }, 60_000);
  });
}
