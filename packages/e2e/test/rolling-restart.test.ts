import { createReplication, type RegistryEntry, type Replication } from "@hokan/core";
import { MemoryStore } from "@hokan/core/testing";
import { migrate } from "@hokan/server";
import { scratchDatabase } from "@hokan/server/testing";
import { createHttpTransport } from "@hokan/transport";
import { BehaviorSubject } from "rxjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FaultProxy } from "../src/fault-proxy.js";
import { deviceToken, MAIL, type ServerChild, spawnServer, until } from "../src/harness.js";

/**
 * A rolling deploy, as an orchestrator runs one: two server processes on one PostgreSQL behind a load balancer, every
 * device's live channel on the first. The first gets SIGTERM and the balancer sends new connections to the second;
 * every channel must end at once with `reconnect`, reach the second, and miss nothing written before or after.
 */

const ACCOUNTS = 150;
const DRAIN_MS = 5_000;
const all = ["backup", "restore", "bulkBackup", "bulkDelete"] as const;
const REGISTRY: RegistryEntry[] = [{ appId: MAIL.appId, platform: "android", capabilities: [...all] }];

/** A server's live channels, read from its metrics. */
async function liveChannels(server: ServerChild): Promise<number> {
  const url = /"address":"(http:\/\/127\.0\.0\.1:\d+\/metrics)"/.exec(server.output())?.[1];
  if (!url) throw new Error(`no metrics address logged:\n${server.output()}`);
  const text = await (await fetch(url)).text();
  return Number(/^hokan_live_channels (\d+)$/m.exec(text)?.[1] ?? Number.NaN);
}

const NATS_URL = process.env.HOKAN_TEST_NATS_URL ?? "nats://127.0.0.1:4222";

describe.each([
  ["PostgreSQL NOTIFY", []],
  ["NATS", ["--bus", NATS_URL]],
])(
  `a rolling restart with ${ACCOUNTS * 2} live channels open (PostgreSQL, two processes, the bus on %s)`,
  (_, bus) => {
    let drop: () => Promise<void>;
    let first: ServerChild;
    let second: ServerChild;
    let balancer: FaultProxy;
    const devices: { account: string; writer: Replication; reader: Replication }[] = [];

    beforeAll(async () => {
      const scratch = await scratchDatabase("postgres", { prefix: "hokan_e2e_roll" });
      await migrate(scratch.db);
      await scratch.db.close();
      drop = scratch.drop;
      const args = [
        "--metrics-port",
        "0",
        "--drain-ms",
        String(DRAIN_MS),
        "--live-per-account",
        "10",
        ...bus,
      ];
      first = await spawnServer(scratch.url as string, REGISTRY, 5_000, args);
      second = await spawnServer(scratch.url as string, REGISTRY, 5_000, args);
      balancer = new FaultProxy({ host: "127.0.0.1", port: first.port });
      await balancer.start();
      const device = (account: string, id: string, mode: "stream" | "poll") =>
        createReplication({
          store: new MemoryStore(),
          transport: createHttpTransport({
            baseUrl: balancer.url,
            token: () => deviceToken(account),
            timeouts: { connectMs: 5_000 },
            live: { mode, waitMs: 20_000 },
          }),
          accountId: account,
          app: { appId: MAIL.appId, appVersion: MAIL.appVersion, platform: "android" },
          deviceId: id,
          collections: MAIL.collections,
          settings$: new BehaviorSubject({ backupEnabled: true, overseasEnabled: false }),
          network$: new BehaviorSubject({ online: true, roaming: false }),
          // A failed channel would wait its backoff, seconds; one ended with reconnect must not.
          backoff: { baseMs: 3_000, maxMs: 30_000 },
        });
      for (let i = 0; i < ACCOUNTS; i++) {
        const account = `roll-${i}`;
        // Half the readers stream, half long-poll (as phones do): both must come back.
        const entry = {
          account,
          writer: device(account, `w-${i}`, "stream"),
          reader: device(account, `r-${i}`, i % 2 === 0 ? "stream" : "poll"),
        };
        devices.push(entry);
      }
      await Promise.all(devices.flatMap((d) => [d.writer.start(), d.reader.start()]));
    }, 120_000);

    afterAll(async () => {
      await Promise.all(devices.flatMap((d) => [d.writer.stop(), d.reader.stop()]));
      await balancer?.close();
      await first?.stop();
      await second?.stop();
      await drop?.();
    }, 60_000);

    it("ends every channel at once, exits within the drain deadline, and every device is back on the other process with nothing lost", async () => {
      await until(async () => (await liveChannels(first)) === ACCOUNTS * 2, 60_000);
      expect(await liveChannels(second)).toBe(0);

      // Writes on their way while the process stops.
      await Promise.all(devices.map((d) => d.writer.put("settings", "before", { v: d.account })));
      const stopping = Date.now();
      process.kill(first.pid, "SIGTERM");
      balancer.routeTo({ host: "127.0.0.1", port: second.port });
      expect(await first.exited).toBe(0);
      const exitMs = Date.now() - stopping;
      expect(exitMs).toBeLessThan(DRAIN_MS);
      expect(first.output()).toMatch(/"msg":"hokan-server stopped"/);

      // Every channel reopens on the second process, without the backoff a failure would cost.
      await until(async () => (await liveChannels(second)) === ACCOUNTS * 2, 20_000);
      const backMs = Date.now() - stopping;

      // Written after: it reaches each reader through its channel on the second process.
      await Promise.all(devices.map((d) => d.writer.put("settings", "after", { v: d.account })));
      await until(async () => {
        for (const d of devices) {
          if ((await d.reader.get("settings", "before")) === undefined) return false;
          if ((await d.reader.get("settings", "after")) === undefined) return false;
        }
        return true;
      }, 30_000);
      const deliveredMs = Date.now() - stopping;
      for (const d of devices) {
        expect(d.writer.status.pending).toBe(0);
        expect(await d.reader.get("settings", "after")).toEqual({ v: d.account });
      }
      console.log(
        `rolling restart with ${ACCOUNTS * 2} channels: the stopping process exited in ${exitMs} ms; ` +
          `all channels back on the other in ${backMs} ms; every write delivered ${deliveredMs} ms after SIGTERM`,
      );
    }, 120_000);
  },
);
