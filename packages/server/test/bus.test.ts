import { type ClientRequest, request as httpRequest } from "node:http";
import { isLiveHint, type PushChange, randomId, systemRuntime } from "@hokan/core";
import { openRegistry } from "@hokan/core/testing";
import { filter, firstValueFrom, take, timeout } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import { LIVE_CHANNEL, type LiveBus, natsBus, natsSubject, openPostgres } from "../src/index.js";
import { change, freshDatabase, NATS_URL, type RunningServer, startServer } from "./fixtures.js";

const MAIL = { appId: "jp.example.mail", appVersion: "3.0.0", platform: "android" as const };
const settle = () => new Promise((r) => setTimeout(r, 300));

describe("the NATS bus", () => {
  const open: LiveBus[] = [];
  const bus = async () => {
    const b = await natsBus(NATS_URL);
    open.push(b);
    return b;
  };
  afterEach(async () => {
    for (const b of open.splice(0)) await b.close();
  });

  it("delivers to a process only the notices of the accounts it watches, while it watches them", async () => {
    const [receiver, sender] = [await bus(), await bus()];
    const got: string[] = [];
    await receiver.start(
      (payload) => got.push(payload),
      () => undefined,
    );
    const [mine, other] = [`a-${randomId(systemRuntime)}`, `b-${randomId(systemRuntime)}`];
    // Two channels of one account: one goes, the account is still watched.
    await receiver.watch(mine);
    await receiver.watch(mine);
    sender.publish(mine, "one");
    sender.publish(other, "not for this process");
    await settle();
    expect(got).toEqual(["one"]);
    receiver.unwatch(mine);
    sender.publish(mine, "two");
    await settle();
    expect(got).toEqual(["one", "two"]);
    // The last channel goes: so does the subscription.
    receiver.unwatch(mine);
    await settle();
    sender.publish(mine, "three");
    await settle();
    expect(got).toEqual(["one", "two"]);
  });

  it("names a subject per account that no account id can turn into a wildcard or another account's", () => {
    const subjects = ["a.b", "*", ">", "x y", "アカウント", "a", "a."].map(natsSubject);
    for (const s of subjects) expect(s).toMatch(/^hokan\.live\.[A-Za-z0-9_-]+$/);
    expect(new Set(subjects).size).toBe(subjects.length);
  });
});

describe("servers on the NATS bus (PostgreSQL)", () => {
  const running: { s: RunningServer; close: () => Promise<void> }[] = [];
  afterEach(async () => {
    for (const r of running.splice(0)) await r.close();
  });

  it("carry a change from one server to another's live channel without a NOTIFY from the database", async () => {
    const { db, url, drop } = await freshDatabase("postgres");
    const other = await openPostgres(url as string);
    const registry = openRegistry([MAIL.appId]);
    const [one, two] = [
      await startServer(db, registry, { bus: await natsBus(NATS_URL) }),
      await startServer(other, registry, { bus: await natsBus(NATS_URL) }),
    ];
    running.push({
      s: one,
      close: async () => {
        await one.close();
        await two.close();
        await db.close();
        await other.close();
        await drop();
      },
    });
    // What the database announces on the channel the PostgreSQL bus uses: nothing, here.
    const notified: string[] = [];
    const stopListening = await db.listen(LIVE_CHANNEL, (payload) => notified.push(payload));
    const account = `acct-${randomId(systemRuntime)}`;
    const hint = firstValueFrom(
      two.client(account).live([MAIL]).pipe(filter(isLiveHint), take(1), timeout(10_000)),
    );
    await settle();
    const answer = await one.client(account).push({
      scope: MAIL,
      idempotencyKey: `k-${randomId(systemRuntime)}`,
      changes: [change("a", { v: 1 }) as PushChange],
    });
    expect(answer.results[0]?.status).toBe("accepted");
    expect(await hint).toMatchObject({
      type: "changed",
      appId: MAIL.appId,
      seq: 1,
      documents: [{ id: "a" }],
    });
    // A delete is published the same way.
    const deleted = firstValueFrom(
      two
        .client(account)
        .live([MAIL])
        .pipe(
          filter((e) => e.type === "deleted"),
          take(1),
          timeout(10_000),
        ),
    );
    await settle();
    await one.client(account).deleteApp(MAIL, `r-${randomId(systemRuntime)}`);
    expect(await deleted).toMatchObject({ type: "deleted", appId: MAIL.appId, epoch: 2 });
    await settle();
    expect(notified).toEqual([]);
    await stopListening();
  });
});

describe("a live stream waiting for its bus", () => {
  /** A bus whose subscriptions come when the test says: the window a NATS subscription takes to be in place. */
  const slowBus = () => {
    let arrive: () => void = () => undefined;
    const arrived = new Promise<void>((resolve) => {
      arrive = resolve;
    });
    const bus: LiveBus = {
      kind: "nats",
      inTransaction: false,
      start: async () => undefined,
      watch: () => arrived,
      unwatch: () => undefined,
      ready: () => arrived,
      publish: () => undefined,
      close: async () => undefined,
    };
    return { bus, arrive };
  };
  const open = (url: string, token: string) =>
    new Promise<{ request: ClientRequest; text: () => string; ended: Promise<void> }>((resolve, reject) => {
      let text = "";
      const request = httpRequest(
        `${url}/v1/live?scope=${MAIL.appId},${MAIL.platform},${MAIL.appVersion}`,
        { headers: { authorization: `Bearer ${token}` }, agent: false },
        (res) => {
          const ended = new Promise<void>((done) => res.once("close", () => done()));
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            text += chunk;
          });
          resolve({ request, text: () => text, ended });
        },
      );
      request.on("error", reject);
      request.end();
    });

  it("is told to reconnect when the server stops before its subscription is in place", async () => {
    const { db, drop } = await freshDatabase("pglite");
    const { bus } = slowBus();
    const s = await startServer(db, openRegistry([MAIL.appId]), { bus });
    try {
      const stream = await open(s.url, await s.token("alice"));
      await settle();
      expect(stream.text()).toBe("");
      await s.close();
      await stream.ended;
      expect(stream.text()).toBe('data: {"type":"reconnect"}\n\n');
    } finally {
      await db.close();
      await drop();
    }
  });

  it("starts no heartbeat for a client that left while it waited", async () => {
    const { db, drop } = await freshDatabase("pglite");
    const { bus, arrive } = slowBus();
    const s = await startServer(db, openRegistry([MAIL.appId]), { bus, liveHeartbeatMs: 20 });
    try {
      const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
      const stream = await open(s.url, await s.token("alice"));
      await settle();
      const before = timers();
      stream.request.destroy();
      await stream.ended;
      await settle();
      arrive();
      await settle();
      expect(timers()).toBeLessThanOrEqual(before);
      expect(s.server.hub.connections).toBe(0);
    } finally {
      await s.close();
      await db.close();
      await drop();
    }
  });
});
