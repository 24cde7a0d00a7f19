import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import { createReplication, isLiveHint, randomId, systemRuntime } from "@hokan/core";
import { MemoryStore, TRANSPORT_TEST_REGISTRY } from "@hokan/core/testing";
import { createHttpTransport } from "@hokan/transport";
import { BehaviorSubject, filter, firstValueFrom, take, timeout, toArray } from "rxjs";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { openPostgres, signDevelopmentToken } from "../src/index.js";
import { change, freshDatabase, NATS_URL, SECRET } from "./fixtures.js";
import { type ServerProcess, spawnServer, writeRegistry } from "./processes.js";

const SCOPE = { appId: "jp.example.mail", appVersion: "3.0.0", platform: "android" as const };
const client = (url: string, account: string) =>
  createHttpTransport({ baseUrl: url, token: () => signDevelopmentToken(SECRET, { account }) });
describe("server processes on one PostgreSQL", () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  const registry = writeRegistry(TRANSPORT_TEST_REGISTRY);
  beforeAll(async () => {
    db = await freshDatabase("postgres");
    await db.db.close();
  });
  afterAll(async () => {
    await db.drop();
  });

  it.each([
    ["PostgreSQL NOTIFY", []],
    ["NATS", ["--bus", NATS_URL]],
  ])(
    "delivers a change pushed through one process to a live client of another, on %s (scenario 13)",
    async (_, bus) => {
      const url = db.url as string;
      const [one, two] = await Promise.all([
        spawnServer(["--database-url", url, "--registry", registry, ...bus]),
        spawnServer(["--database-url", url, "--registry", registry, ...bus]),
      ]);
      try {
        const account = `acct-${randomId(systemRuntime)}`;
        const reader = client(two.url, account);
        const events = firstValueFrom(
          reader.live([SCOPE]).pipe(filter(isLiveHint), take(1), toArray(), timeout(15_000)),
        );
        await new Promise((r) => setTimeout(r, 500));
        const res = await client(one.url, account).push({
          scope: SCOPE,
          idempotencyKey: `k-${randomId(systemRuntime)}`,
          changes: [change("a", { v: 1 })],
        });
        expect(res.results[0]?.status).toBe("accepted");
        const [event] = await events;
        expect(event).toMatchObject({ type: "changed", appId: SCOPE.appId });
        const pulled = await reader.pull({ scope: SCOPE, checkpoint: { epoch: 0, seq: 0 }, limit: 10 });
        expect(pulled.documents.map((d) => d.data)).toEqual([{ v: 1 }]);
      } finally {
        await Promise.all([one.stop(), two.stop()]);
      }
    },
    60_000,
  );

  it("keeps every acknowledged change exactly once, and no push half-applied, when killed mid-stream", async () => {
    const url = db.url as string;
    const account = `acct-${randomId(systemRuntime)}`;
    let server: ServerProcess = await spawnServer(["--database-url", url, "--registry", registry]);
    const acknowledged: string[][] = [];
    const unanswered: string[][] = [];
    // A stream of pushes of five documents each; the server is killed while they are in flight.
    const writer = client(server.url, account);
    let n = 0;
    const pushes: Promise<void>[] = [];
    const killAt = Date.now() + 1500;
    while (Date.now() < killAt && n < 2000) {
      const ids = Array.from({ length: 5 }, () => `d${n++}`);
      pushes.push(
        writer
          .push({
            scope: SCOPE,
            idempotencyKey: `k-${randomId(systemRuntime)}`,
            changes: ids.map((id) => change(id, { id })),
          })
          .then(
            (r) => {
              expect(r.results.every((x) => x.status === "accepted")).toBe(true);
              acknowledged.push(ids);
            },
            () => {
              unanswered.push(ids);
            },
          ),
      );
      await new Promise((r) => setTimeout(r, 2));
    }
    await server.kill();
    await Promise.all(pushes);
    server = await spawnServer(["--database-url", url, "--registry", registry]);
    try {
      const pulled: string[] = [];
      let checkpoint = { epoch: 0, seq: 0 };
      for (let i = 0; i < 100; i++) {
        const page = await client(server.url, account).pull({ scope: SCOPE, checkpoint, limit: 1000 });
        pulled.push(...page.documents.map((d) => d.id));
        checkpoint = page.checkpoint;
        if (!page.more) break;
      }
      const stored = new Set(pulled);
      expect(pulled.length).toBe(stored.size);
      expect(acknowledged.length).toBeGreaterThan(5);
      for (const ids of acknowledged) for (const id of ids) expect(stored.has(id)).toBe(true);
      for (const ids of unanswered) {
        const present = ids.filter((id) => stored.has(id)).length;
        expect([0, ids.length]).toContain(present);
      }
      const catalog = await client(server.url, account).catalog();
      expect(catalog.apps[0]?.documents).toBe(stored.size);
    } finally {
      await server.stop();
    }
  }, 90_000);

  it("acknowledges a write only once it is committed, across servers killed mid-stream, and every write in the end", async () => {
    const url = db.url as string;
    const account = `acct-${randomId(systemRuntime)}`;
    let server: ServerProcess = await spawnServer(["--database-url", url, "--registry", registry]);
    // The device's one address: a forwarder to whichever process runs now, as a load balancer would be.
    let target = Number(new URL(server.url).port);
    const open = new Set<Socket>();
    const front = createServer((c) => {
      const up = connect(target, "127.0.0.1");
      open.add(c);
      c.on("close", () => open.delete(c));
      c.pipe(up).pipe(c);
      c.on("error", () => up.destroy());
      up.on("error", () => c.destroy());
      c.on("close", () => up.destroy());
      up.on("close", () => c.destroy());
    });
    await new Promise<void>((r) => front.listen(0, "127.0.0.1", r));
    const frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
    const direct = await openPostgres(url, 2);
    const mail = createReplication({
      store: new MemoryStore(),
      transport: createHttpTransport({
        baseUrl: frontUrl,
        token: () => signDevelopmentToken(SECRET, { account }),
        timeouts: { connectMs: 2_000 },
        retry: { attempts: 2, baseMs: 20, maxMs: 100 },
      }),
      accountId: account,
      app: SCOPE,
      deviceId: "phone",
      collections: { settings: "lww" },
      settings$: new BehaviorSubject({ backupEnabled: true, overseasEnabled: false }),
      network$: new BehaviorSubject({ online: true, roaming: false }),
      backoff: { baseMs: 50, maxMs: 2_000 },
      probeMs: 200,
    });
    const early: string[] = [];
    const checks: Promise<void>[] = [];
    const waits: { id: string; state: string }[] = [];
    try {
      await mail.start();
      const restartAt = [Date.now() + 500, Date.now() + 1_000];
      for (let i = 0; i < 400 && (restartAt.length > 0 || waits.length < 100); i++) {
        const id = `d${i}`;
        const receipt = await mail.put("settings", id, { v: i });
        const wait = { id, state: "pending" };
        waits.push(wait);
        mail.acknowledged(receipt).then(
          () => {
            wait.state = "resolved";
            // Told it is safe: the database must hold it now.
            checks.push(
              direct
                .query<{ data: { v: number } }>(
                  "SELECT data FROM documents WHERE account_id = $1 AND app_id = $2 AND id = $3",
                  [account, SCOPE.appId, id],
                )
                .then((rows) => {
                  if (rows[0]?.data?.v !== i) early.push(id);
                }),
            );
          },
          (error: unknown) => {
            wait.state = `rejected: ${String(error)}`;
          },
        );
        if (restartAt[0] !== undefined && Date.now() >= restartAt[0]) {
          restartAt.shift();
          await server.kill();
          server = await spawnServer(["--database-url", url, "--registry", registry]);
          target = Number(new URL(server.url).port);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      await vi.waitFor(() => expect(waits.filter((w) => w.state === "pending")).toEqual([]), {
        timeout: 30_000,
        interval: 50,
      });
      await Promise.all(checks);
      expect(waits.filter((w) => w.state !== "resolved")).toEqual([]);
      expect(early).toEqual([]);
      expect(mail.status.pending).toBe(0);
    } finally {
      await mail.stop();
      await direct.close();
      // Idle keep-alive connections would hold the forwarder open for a minute.
      for (const c of open) c.destroy();
      await new Promise<void>((r) => front.close(() => r()));
      await server.stop();
    }
  }, 60_000);

  it("announces the live heartbeat its operator set, and refuses one out of range at start", async () => {
    const url = db.url as string;
    const account = `acct-${randomId(systemRuntime)}`;
    await expect(
      spawnServer(["--database-url", url, "--registry", registry, "--live-heartbeat-ms", "50"]),
    ).rejects.toThrow(/--live-heartbeat-ms must be a whole number of ms from 1000 to 600000, not 50/);
    const server = await spawnServer([
      "--database-url",
      url,
      "--registry",
      registry,
      "--live-heartbeat-ms",
      "1000",
    ]);
    try {
      const started = Date.now();
      const signals = await firstValueFrom(
        client(server.url, account).live([SCOPE]).pipe(take(2), toArray(), timeout(15_000)),
      );
      expect(signals).toEqual([{ type: "open", heartbeatMs: 1000 }, { type: "beat" }]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    } finally {
      await server.stop();
    }
  }, 60_000);

  it("limits requests at the rate its operator set, and refuses a malformed rate at start", async () => {
    const url = db.url as string;
    await expect(
      spawnServer(["--database-url", url, "--registry", registry, "--rate-limit", "50"]),
    ).rejects.toThrow(/--rate-limit must be <per second>\/<burst>/);
    const server = await spawnServer([
      "--database-url",
      url,
      "--registry",
      registry,
      "--rate-limit",
      "0.5/2",
    ]);
    try {
      const token = await signDevelopmentToken(SECRET, { account: `acct-${randomId(systemRuntime)}` });
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${server.url}/v1/registry?platform=web`, {
          headers: { authorization: `Bearer ${token}` },
        });
        statuses.push(res.status);
        if (res.status === 429) expect(res.headers.get("retry-after")).toBe("2");
      }
      expect(statuses).toEqual([200, 200, 429]);
    } finally {
      await server.stop();
    }
  }, 60_000);
});
