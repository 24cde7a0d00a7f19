import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type PushChange, randomId, systemRuntime } from "@hokan/core";
import { openRegistry } from "@hokan/core/testing";
import { describe, expect, it } from "vitest";
import { serveMetrics, signDevelopmentToken } from "../src/index.js";
import { change, type DatabaseKind, type RunningServer, SECRET, serversPerTest } from "./fixtures.js";
import { spawnServer, writeRegistry } from "./processes.js";

const MAIL = { appId: "jp.example.mail", appVersion: "3.0.0", platform: "android" as const };
const scopeOf = `scope=${MAIL.appId},${MAIL.platform},${MAIL.appVersion}`;

/** One sample's value from Prometheus's text format (0 when the series is absent). */
function sample(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe.each<DatabaseKind>(["pglite", "postgres"])("what an operator sees and does (%s)", (kind) => {
  const start = serversPerTest(kind, openRegistry([MAIL.appId]));
  const account = () => `acct-${randomId(systemRuntime)}`;
  const push = (s: RunningServer, who: string, ids: readonly string[]) =>
    s.client(who).push({
      scope: MAIL,
      idempotencyKey: `k-${randomId(systemRuntime)}`,
      changes: ids.map((id) => change(id, { v: id }) as PushChange),
    });

  it("counts requests by route, documents and bytes each way, live channels, refusals and the bus's lag", async () => {
    const s = await start({ maxLiveChannelsPerAccount: 1 });
    const who = account();
    await push(s, who, ["a", "b", "c"]);
    const page = await s.client(who).pull({ scope: MAIL, checkpoint: { epoch: 0, seq: 0 }, limit: 100 });
    expect(page.documents).toHaveLength(3);
    const headers = { authorization: `Bearer ${await s.token(who)}` };
    const stream = await fetch(`${s.url}/v1/live?${scopeOf}`, { headers });
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    // A second channel is one too many for this account.
    expect((await fetch(`${s.url}/v1/live?${scopeOf}`, { headers })).status).toBe(429);
    // A request for a path no route has.
    expect((await fetch(`${s.url}/v1/nothing/here`, { headers })).status).toBe(404);

    const served = await serveMetrics(s.server.metrics, "127.0.0.1", 0);
    try {
      const res = await fetch(served.url);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      expect(
        sample(text, 'hokan_http_requests_total{route="/v1/apps/:appId/push",method="POST",code="200"}'),
      ).toBe(1);
      expect(
        sample(text, 'hokan_http_requests_total{route="/v1/apps/:appId/pull",method="POST",code="200"}'),
      ).toBe(1);
      expect(sample(text, 'hokan_http_requests_total{route="/v1/live",method="GET",code="200"}')).toBe(1);
      expect(sample(text, 'hokan_http_requests_total{route="/v1/live",method="GET",code="429"}')).toBe(1);
      expect(sample(text, 'hokan_http_requests_total{route="unmatched",method="GET",code="404"}')).toBe(1);
      expect(sample(text, 'hokan_documents_total{direction="pushed"}')).toBe(3);
      expect(sample(text, 'hokan_documents_total{direction="pulled"}')).toBe(3);
      expect(sample(text, 'hokan_body_bytes_total{direction="pushed"}')).toBeGreaterThan(300);
      expect(sample(text, 'hokan_body_bytes_total{direction="pulled"}')).toBeGreaterThan(300);
      expect(sample(text, "hokan_live_channels")).toBe(1);
      expect(sample(text, 'hokan_rate_limited_total{by="live-channels"}')).toBe(1);
      // The push's notice came back through the database to this process.
      expect(sample(text, "hokan_bus_lag_seconds_count")).toBe(1);
      expect(sample(text, 'hokan_http_request_duration_seconds_count{route="/v1/apps/:appId/push"}')).toBe(1);
      if (kind === "postgres") expect(text).toMatch(/^hokan_db_pool_waiting 0$/m);
      // No app id, account or raw path in any series: they would grow without bound.
      expect(text).not.toContain(who);
      expect(text).not.toContain("jp.example.mail");
      expect((await fetch(served.url.replace("/metrics", "/other"))).status).toBe(404);
    } finally {
      await served.close();
      await reader.cancel();
    }
  });

  it("is ready while its database answers, and says not ready while it cannot reach it", async () => {
    // The database as the server sees it, which the test can take away (a network cut, a failover).
    let down = false;
    const s = await start(
      {},
      {
        wrap: (db) =>
          ({
            ...db,
            query: (text: string, params?: readonly unknown[]) =>
              down ? Promise.reject(new Error("connection lost")) : db.query(text, params),
          }) as typeof db,
      },
    );
    const ready = await fetch(`${s.url}/v1/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true });
    down = true;
    const notReady = await fetch(`${s.url}/v1/ready`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ ready: false, reason: "database" });
    // The process itself is alive: restarting it would not help.
    expect((await fetch(`${s.url}/v1/health`)).status).toBe(200);
    down = false;
    expect((await fetch(`${s.url}/v1/ready`)).status).toBe(200);
  });

  it("drains: not ready at once, live channels told to reconnect, a request in flight cut at the deadline", async () => {
    const s = await start();
    const who = account();
    const token = await s.token(who);
    const stream = await fetch(`${s.url}/v1/live?${scopeOf}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    // An upload that stalls half way: in flight until the deadline.
    const stalled = connect(Number(new URL(s.url).port), "127.0.0.1");
    await new Promise<void>((resolve) => stalled.once("connect", () => resolve()));
    stalled.write(
      `POST /v1/apps/${MAIL.appId}/push HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"scope":`,
    );
    const closed = new Promise<void>((resolve) => stalled.once("close", () => resolve()));
    await new Promise((r) => setTimeout(r, 200));
    const during = (async () => {
      await new Promise((r) => setTimeout(r, 100));
      const connecting = await fetch(`${s.url}/v1/ready`).then(
        (r) => r.status,
        () => "refused",
      );
      return connecting;
    })();
    const drained = await s.server.drain(800);
    expect(drained.cut).toBe(1);
    expect(drained.elapsedMs).toBeGreaterThanOrEqual(790);
    expect(drained.elapsedMs).toBeLessThan(5_000);
    await closed;
    // No new connection is accepted while it drains: a readiness probe fails.
    expect(await during).toBe("refused");
    let said = "";
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      said += decoder.decode(value, { stream: true });
    }
    expect(said).toContain('{"type":"reconnect"}');
  });

  it("drains at once when nothing is in flight", async () => {
    const s = await start();
    await push(s, account(), ["a"]);
    const { elapsedMs, cut } = await s.server.drain(10_000);
    expect(cut).toBe(0);
    expect(elapsedMs).toBeLessThan(2_000);
  });
});

describe("hokan-server's operator options", () => {
  it("serves its metrics on their own port with the process's own, and refuses a bad drain time", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hokan-metrics-"));
    const registry = writeRegistry(openRegistry([MAIL.appId]));
    const server = await spawnServer([
      "--data-dir",
      dir,
      "--registry",
      registry,
      "--metrics-port",
      "0",
      "--drain-ms",
      "2000",
    ]);
    try {
      const out: string[] = [];
      server.child.stdout?.on("data", (c: Buffer) => out.push(c.toString()));
      const token = await signDevelopmentToken(SECRET, { account: "ops" });
      const pushed = await fetch(`${server.url}/v1/apps/${MAIL.appId}/push`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({
          scope: MAIL,
          idempotencyKey: `k-${randomId(systemRuntime)}`,
          changes: [change("a", { v: 1 })],
        }),
      });
      expect(pushed.status).toBe(200);
      // The metrics' address is logged at start: read it from the log the process has written so far.
      const log = server.output();
      const url = /"address":"(http:\/\/127\.0\.0\.1:\d+\/metrics)"/.exec(log)?.[1];
      expect(url, log).toBeDefined();
      const text = await (await fetch(url as string)).text();
      expect(sample(text, 'hokan_documents_total{direction="pushed"}')).toBe(1);
      expect(text).toMatch(/^process_cpu_seconds_total /m);
      expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds /m);
      // Its API port does not serve them.
      expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
      const started = Date.now();
      await server.stop();
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(server.output()).toMatch(/"elapsedMs":\d+,"cut":0,"msg":"hokan-server stopped"/);
    } finally {
      await server.kill();
      rmSync(dir, { recursive: true, force: true });
      rmSync(registry, { force: true });
    }
    await expect(spawnServer(["--registry", registry, "--drain-ms", "soon"])).rejects.toThrow(
      /--drain-ms must be a whole number from 0 to 600000, not soon/,
    );
  });
});
