import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type PushChange, randomId, systemRuntime } from "@hokan/core";
import { openRegistry } from "@hokan/core/testing";
import { describe, expect, it } from "vitest";
import { postgresBus } from "../src/bus.js";
import type { Database } from "../src/database.js";
import { signDevelopmentToken } from "../src/index.js";
import { LiveHub } from "../src/live-hub.js";
import { cursorOf, longPoll, type PollRequest } from "../src/live-poll.js";
import { change, type RunningServer, SECRET, serversPerTest } from "./fixtures.js";
import { spawnServer, writeRegistry } from "./processes.js";

const MAIL = { appId: "jp.example.mail", appVersion: "3.0.0", platform: "android" as const };
const NOTES = { appId: "jp.example.notes", appVersion: "1.0.0", platform: "android" as const };
/** A poll of account "a" for Mail, held up to 30 s, whose client was told of Mail's feed up to `seq` in epoch 1. */
const mailPoll = (seq: number): PollRequest => ({
  account: "a",
  apps: new Map([[MAIL.appId, MAIL]]),
  catalog: false,
  waitMs: 30_000,
  cursor: cursorOf(new Map([[MAIL.appId, { epoch: 1, seq }]])),
  heartbeatMs: 30_000,
  gone: new Promise(() => undefined),
});
const scopeOf = (s: typeof MAIL) => `scope=${s.appId},${s.platform},${s.appVersion}`;

interface Answer {
  status: number;
  body: {
    events: { type: string; appId?: string; epoch?: number; seq?: number; documents?: unknown[] }[];
    cursor: string;
  };
  ms: number;
}

describe("the live channel as long polls", () => {
  const start = serversPerTest("pglite", openRegistry([MAIL.appId, NOTES.appId]));

  const account = () => `acct-${randomId(systemRuntime)}`;
  const poll = async (s: RunningServer, who: string, query: string, token?: string): Promise<Answer> => {
    const started = Date.now();
    const res = await fetch(`${s.url}/v1/live?${query}`, {
      headers: { authorization: `Bearer ${token ?? (await s.token(who))}` },
    });
    return { status: res.status, body: (await res.json()) as Answer["body"], ms: Date.now() - started };
  };
  const push = async (s: RunningServer, who: string, scope: typeof MAIL, id: string) => {
    const answer = await s.client(who).push({
      scope,
      idempotencyKey: `k-${randomId(systemRuntime)}`,
      changes: [change(id, { v: id }) as PushChange],
    });
    expect(answer.results[0]?.status).toBe("accepted");
  };

  it("answers a first poll at once with `open`, holds the next until a change, and ends an idle one at its wait", async () => {
    const s = await start();
    const a = account();
    const first = await poll(s, a, `${scopeOf(MAIL)}&wait=5s`);
    expect(first.status).toBe(200);
    expect(first.body.events).toEqual([{ type: "open", heartbeatMs: 5000 }]);
    expect(first.ms).toBeLessThan(2000);

    const held = poll(s, a, `${scopeOf(MAIL)}&wait=10s&cursor=${encodeURIComponent(first.body.cursor)}`);
    await new Promise((r) => setTimeout(r, 300));
    await push(s, a, MAIL, "x");
    const answered = await held;
    expect(answered.body.events).toMatchObject([
      { type: "changed", appId: MAIL.appId, epoch: 1, seq: 1, after: 0, documents: [{ id: "x" }] },
    ]);
    expect(answered.ms).toBeLessThan(5000);

    const idle = await poll(
      s,
      a,
      `${scopeOf(MAIL)}&wait=400ms&cursor=${encodeURIComponent(answered.body.cursor)}`,
    );
    expect(idle.body).toEqual({ events: [], cursor: answered.body.cursor });
    expect(idle.ms).toBeGreaterThanOrEqual(380);
  });

  it("hints at the next poll what changed between two polls: a change by its head, a delete as `deleted`", async () => {
    const s = await start();
    const a = account();
    const open = await poll(s, a, `${scopeOf(MAIL)}&${scopeOf(NOTES)}&wait=5s`);
    await push(s, a, MAIL, "between");
    const next = await poll(
      s,
      a,
      `${scopeOf(MAIL)}&${scopeOf(NOTES)}&wait=5s&cursor=${encodeURIComponent(open.body.cursor)}`,
    );
    // Answered at once, with only the app that moved, carrying its documents since the cursor, as the stream would.
    expect(next.ms).toBeLessThan(2000);
    expect(next.body.events).toMatchObject([
      {
        type: "changed",
        appId: MAIL.appId,
        epoch: 1,
        seq: 1,
        after: 0,
        documents: [{ id: "between", seq: 1 }],
      },
    ]);
    expect(next.body.events).toHaveLength(1);

    await s.client(a).deleteApp(MAIL, `del-${randomId(systemRuntime)}`);
    const after = await poll(s, a, `${scopeOf(MAIL)}&wait=5s&cursor=${encodeURIComponent(next.body.cursor)}`);
    expect(after.body.events).toEqual([{ type: "deleted", appId: MAIL.appId, epoch: 2 }]);
    // Another account's changes are not this account's.
    const other = account();
    await push(s, other, MAIL, "theirs");
    const quiet = await poll(
      s,
      a,
      `${scopeOf(MAIL)}&wait=300ms&cursor=${encodeURIComponent(after.body.cursor)}`,
    );
    expect(quiet.body.events).toEqual([]);
  });

  it("carries no documents in a catch-up hint to a version below the enforced minimum, as the stream", async () => {
    const s = await start(
      {},
      {
        registry: [
          {
            appId: MAIL.appId,
            platform: "android",
            capabilities: ["backup", "restore"],
            minVersion: "3.0.0",
          },
        ],
      },
    );
    const a = account();
    const old = `scope=${MAIL.appId},android,2.9.0`;
    const open = await poll(s, a, `${old}&wait=5s`);
    await push(s, a, MAIL, "new");
    const next = await poll(s, a, `${old}&wait=5s&cursor=${encodeURIComponent(open.body.cursor)}`);
    expect(next.body.events).toEqual([{ type: "changed", appId: MAIL.appId, epoch: 1, seq: 1 }]);
  });

  it("names apps one by one in a cursor, and for very many a digest whose mismatch hints each at its head", async () => {
    const few = new Map([["jp.example.mail", { epoch: 2, seq: 7 }]]);
    expect(cursorOf(few)).toBe("e:jp.example.mail:2:7");
    const many = new Map(Array.from({ length: 65 }, (_, i) => [`jp.example.app${i}`, { epoch: 1, seq: i }]));
    expect(cursorOf(many)).toMatch(/^d:[\w-]{22}$/);

    const s = await start();
    const a = account();
    await push(s, a, MAIL, "m");
    await push(s, a, NOTES, "n");
    const stale = await poll(s, a, `${scopeOf(MAIL)}&${scopeOf(NOTES)}&wait=5s&cursor=d:${"A".repeat(22)}`);
    expect(stale.body.events).toEqual([
      { type: "changed", appId: MAIL.appId, epoch: 1, seq: 1 },
      { type: "changed", appId: NOTES.appId, epoch: 1, seq: 1 },
    ]);
  });

  it("refuses a wait past 60 s or malformed, and a cursor it did not make, with 400 problems", async () => {
    const s = await start();
    const a = account();
    for (const query of [
      "wait=61s",
      "wait=soon",
      "wait=-1",
      `wait=5s&cursor=${encodeURIComponent("e:<script>")}`,
    ]) {
      const res = await fetch(`${s.url}/v1/live?${scopeOf(MAIL)}&${query}`, {
        headers: { authorization: `Bearer ${await s.token(a)}` },
      });
      expect(res.status, query).toBe(400);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      expect(await res.json()).toMatchObject({ code: "bad-request" });
    }
  });

  it("answers held polls and ends streams when the server closes, so it stops at once", async () => {
    const s = await start();
    const a = account();
    const token = await s.token(a);
    const open = await poll(s, a, `${scopeOf(MAIL)}&wait=5s`, token);
    const held = poll(
      s,
      a,
      `${scopeOf(MAIL)}&wait=30s&cursor=${encodeURIComponent(open.body.cursor)}`,
      token,
    );
    const stream = await fetch(`${s.url}/v1/live?${scopeOf(MAIL)}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    await s.close();
    expect(Date.now() - started).toBeLessThan(3000);
    const answer = await held;
    expect(answer.status).toBe(200);
    // Both are told to come again at once (to another process of the fleet).
    expect(answer.body.events).toEqual([{ type: "reconnect" }]);
    expect(await rest(reader)).toContain('data: {"type":"reconnect"}\n\n');
  });

  it("answers at once a poll its hub ended while it was still reading the heads", async () => {
    const hub = new LiveHub((event) => event);
    let headsRead: () => void = () => undefined;
    const heads = () =>
      new Promise<Map<string, { epoch: number; seq: number }>>((resolve) => {
        headsRead = () => resolve(new Map([[MAIL.appId, { epoch: 1, seq: 3 }]]));
      });
    const started = Date.now();
    const answer = longPoll(hub, heads, mailPoll(3));
    // The poll is reading the heads when the hub ends it.
    await new Promise((r) => setTimeout(r, 0));
    hub.endAll();
    headsRead();
    expect(await answer).toEqual({ events: [{ type: "reconnect" }], cursor: "e:jp.example.mail:1:3" });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("lets hokan-server stop on SIGTERM at once with a stream open and a poll held: one ends, the other is answered", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hokan-sigterm-"));
    const registry = writeRegistry(openRegistry([MAIL.appId]));
    const server = await spawnServer(["--data-dir", dir, "--registry", registry]);
    try {
      const headers = { authorization: `Bearer ${await signDevelopmentToken(SECRET, { account: "a" })}` };
      const stream = await fetch(`${server.url}/v1/live?${scopeOf(MAIL)}`, { headers });
      const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
      await reader.read();
      const open = (await (
        await fetch(`${server.url}/v1/live?${scopeOf(MAIL)}&wait=5s`, { headers })
      ).json()) as {
        cursor: string;
      };
      const held = fetch(
        `${server.url}/v1/live?${scopeOf(MAIL)}&wait=60s&cursor=${encodeURIComponent(open.cursor)}`,
        {
          headers,
        },
      );
      await new Promise((r) => setTimeout(r, 300));
      const started = Date.now();
      await server.stop();
      expect(Date.now() - started).toBeLessThan(5000);
      const answer = await held;
      expect(answer.status).toBe(200);
      expect(((await answer.json()) as { events: unknown[] }).events).toEqual([{ type: "reconnect" }]);
      expect(await rest(reader)).toContain('data: {"type":"reconnect"}\n\n');
    } finally {
      await server.kill();
      rmSync(dir, { recursive: true, force: true });
      rmSync(registry, { force: true });
    }
  });

  it("hints a change once when it commits between the poll's listening and its reading of the heads", async () => {
    const hub = new LiveHub((event) => event);
    let deliver: (payload: string) => void = () => undefined;
    await hub.start(
      postgresBus({
        listen: async (_channel: string, onPayload: (payload: string) => void) => {
          deliver = onPayload;
          return async () => undefined;
        },
      } as unknown as Database),
    );
    // The change lands while the heads are read: its notice arrives, and the heads already hold it.
    const heads = async () => {
      deliver(JSON.stringify({ account: "a", appId: MAIL.appId, type: "changed", epoch: 1, seq: 3 }));
      return new Map([[MAIL.appId, { epoch: 1, seq: 3 }]]);
    };
    const answer = await longPoll(hub, heads, mailPoll(1));
    expect(answer).toEqual({
      events: [{ type: "changed", appId: MAIL.appId, epoch: 1, seq: 3 }],
      cursor: "e:jp.example.mail:1:3",
    });
    await hub.close();
  });
});

/** What a stream sends until it ends. */
async function rest(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    text += decoder.decode(value, { stream: true });
  }
}
