import { type RegistryEntry, type Replication, randomId, systemRuntime } from "@hokan/core";
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
 * Liveness on the real server over HTTP: a connection frozen by the network (no bytes, no error) is noticed and left.
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
      const write = async (r: Replication, id: string) => {
        ids.push(id);
        await r.put("settings", id, { v: id });
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
      const docs = await settingsScreen(cluster.proxy.url, alice).catalog();
      expect(docs.apps.find((x) => x.appId === MAIL.appId)?.documents).toBe(ids.length);
    }, 60_000);
  });
}
