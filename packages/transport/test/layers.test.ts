import { HokanError } from "@hokan/core";
import { describe, expect, it } from "vitest";
import {
  compose,
  createHttpTransport,
  type Fetcher,
  type TimedInit,
  withAuth,
  withCompression,
  withProblems,
  withRetry,
  withTimeout,
} from "../src/index.js";

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
const problem = (status: number, code: string, extra: Record<string, unknown> = {}) =>
  json(
    status,
    { status, code, detail: `${code} happened`, ...extra },
    { "content-type": "application/problem+json" },
  );

/** A fetcher that answers from a script and records what it was sent. */
function scripted(...answers: (Response | Error | (() => Promise<Response>))[]) {
  const seen: { url: string; headers: Headers }[] = [];
  const fetcher: Fetcher = async (url, init) => {
    seen.push({ url, headers: new Headers(init.headers) });
    const next = answers.shift();
    if (next === undefined) throw new Error("no more answers");
    if (next instanceof Error) throw next;
    return typeof next === "function" ? next() : next;
  };
  return { fetcher, seen };
}

async function failure(p: Promise<unknown>): Promise<HokanError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!HokanError.is(e)) throw new Error(`expected a HokanError, got ${String(e)}`);
  return e as HokanError;
}

describe("withAuth", () => {
  it("sends the token, and after a 401 asks for a fresh one and tries exactly once more", async () => {
    const asked: boolean[] = [];
    const s = scripted(json(401, {}), json(200, { ok: true }));
    const send = withAuth(({ refresh }) => {
      asked.push(refresh);
      return refresh ? "fresh" : "stale";
    })(s.fetcher);
    expect((await send("/x", {})).status).toBe(200);
    expect(asked).toEqual([false, true]);
    expect(s.seen.map((r) => r.headers.get("authorization"))).toEqual(["Bearer stale", "Bearer fresh"]);
  });

  it("gives up after the one refresh", async () => {
    const s = scripted(json(401, {}), problem(401, "unauthorized"));
    const send = compose(
      withProblems(),
      withAuth(() => "t"),
    )(s.fetcher);
    expect((await failure(send("/x", {}))).code).toBe("unauthorized");
    expect(s.seen).toHaveLength(2);
  });
});

describe("withProblems", () => {
  it("says which protocol it speaks and turns problem documents into typed errors", async () => {
    const s = scripted(problem(426, "upgrade-required", { retryable: false }), problem(410, "retired"));
    const send = withProblems()(s.fetcher);
    const upgrade = await failure(send("/x", {}));
    expect(upgrade).toMatchObject({ code: "upgrade-required", retryable: false });
    expect(upgrade.detail).toBe("upgrade-required happened");
    expect(s.seen[0]?.headers.get("hokan-protocol")).toBe("1");
    expect((await failure(send("/x", {}))).code).toBe("retired");
  });

  it("judges answers without a problem document by status, and a failed connection as network", async () => {
    const s = scripted(
      new Response("<html>bad gateway</html>", { status: 502 }),
      new Response("slow down", { status: 429, headers: { "retry-after": "2" } }),
      new Response("?", { status: 404 }),
      new TypeError("fetch failed"),
    );
    const send = withProblems()(s.fetcher);
    expect(await failure(send("/x", {}))).toMatchObject({ code: "server", retryable: true });
    expect(await failure(send("/x", {}))).toMatchObject({
      code: "rate-limited",
      details: { retryAfterMs: 2000 },
    });
    expect((await failure(send("/x", {}))).code).toBe("protocol");
    expect(await failure(send("/x", {}))).toMatchObject({ code: "network", retryable: true });
  });
});

describe("withTimeout", () => {
  it("aborts a request that does not answer in time", async () => {
    const hang: Fetcher = (_url, init) =>
      new Promise((_resolve, reject) =>
        init.signal?.addEventListener("abort", () => reject(new Error("aborted"))),
      );
    expect(await failure(withTimeout(20)(hang)("/x", {}))).toMatchObject({
      code: "timeout",
      retryable: true,
    });
  });

  it("lets the caller's own abort through as it is", async () => {
    const hang: Fetcher = (_url, init) =>
      new Promise((_resolve, reject) =>
        init.signal?.addEventListener("abort", () => reject(new Error("aborted"))),
      );
    const controller = new AbortController();
    const p = withTimeout(10_000)(hang)("/x", { signal: controller.signal });
    controller.abort();
    await expect(p).rejects.toThrow("aborted");
  });

  it("takes a request's own deadline over its default", async () => {
    const hang: Fetcher = (_url, init) =>
      new Promise((_resolve, reject) =>
        init.signal?.addEventListener("abort", () => reject(new Error("aborted"))),
      );
    const started = Date.now();
    const e = await failure(withTimeout(10_000)(hang)("/x", { deadlineMs: 30 } as TimedInit));
    expect(e.code).toBe("timeout");
    expect(e.message).toContain("no answer within 30 ms");
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("with idleMs, gives up an answer whose body stops arriving (a frozen connection), and reads a whole one", async () => {
    const stalled: Fetcher = async (_url, init) => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"partial":'));
          init.signal?.addEventListener("abort", () => controller.error(new Error("aborted")));
        },
      });
      return new Response(body, { status: 200 });
    };
    const e = await failure(withTimeout(10_000, { idleMs: 30 })(stalled)("/x", {}));
    expect(e).toMatchObject({ code: "timeout", retryable: true });
    expect(e.message).toContain("stalled for 30 ms");
    const whole = await withTimeout(10_000, { idleMs: 30 })(async () => json(200, { ok: true }))("/x", {});
    expect(await whole.json()).toEqual({ ok: true });
  });

  it("without idleMs leaves the body to the caller, who can still cancel it through its signal", async () => {
    let aborted = false;
    const streaming: Fetcher = async (_url, init) => {
      init.signal?.addEventListener("abort", () => {
        aborted = true;
      });
      return new Response(new ReadableStream<Uint8Array>({ start() {} }), { status: 200 });
    };
    const controller = new AbortController();
    const res = await withTimeout(20)(streaming)("/live", { signal: controller.signal });
    await new Promise((r) => setTimeout(r, 60));
    // Past the deadline, the stream is not cut: its answer had started.
    expect(aborted).toBe(false);
    controller.abort();
    expect(aborted).toBe(true);
    await res.body?.cancel();
  });
});

describe("createHttpTransport's deadlines", () => {
  /** A server that never answers: records when each request was given up. */
  function silent() {
    const gaveUp: { url: string; afterMs: number }[] = [];
    const fetcher: Fetcher = (url, init) => {
      const started = Date.now();
      return new Promise((_resolve, reject) =>
        init.signal?.addEventListener("abort", () => {
          gaveUp.push({ url, afterMs: Date.now() - started });
          reject(new Error("aborted"));
        }),
      );
    };
    return { fetcher, gaveUp };
  }

  it("fit the request: a push of many changes gets longer than a probe, and a live channel must open in time", async () => {
    const server = silent();
    const transport = createHttpTransport({
      baseUrl: "http://127.0.0.1:9",
      token: () => "t",
      fetch: server.fetcher,
      retry: { attempts: 1 },
      timeouts: { connectMs: 40, perChangeMs: 4, perKiBMs: 0 },
    });
    const scope = { appId: "jp.example.mail", appVersion: "1.0.0", platform: "android" } as const;
    const changes = Array.from({ length: 100 }, (_, i) => ({
      collection: "settings",
      id: `d${i}`,
      changeId: `c${i}`,
      baseRev: 0,
      epoch: 1,
      hlc: "000000000000001:000000:a",
      data: { v: i },
    }));
    expect((await failure(transport.probe?.() ?? Promise.reject(new Error("no probe")))).code).toBe(
      "timeout",
    );
    expect((await failure(transport.push({ scope, idempotencyKey: "k".repeat(16), changes }))).code).toBe(
      "timeout",
    );
    const live = await new Promise<unknown>((resolve) =>
      transport.live([scope]).subscribe({ error: resolve }),
    );
    expect(HokanError.is(live, "timeout")).toBe(true);
    const [probe, push, channel] = server.gaveUp;
    expect(probe?.url).toBe("http://127.0.0.1:9/v1/health");
    // 40 ms, against 40 + 100 × 4 ms.
    expect(probe?.afterMs).toBeLessThan(300);
    expect(push?.afterMs).toBeGreaterThanOrEqual(400);
    expect(channel?.url).toContain("/v1/live");
    expect(channel?.afterMs).toBeLessThan(300);
  });
});

describe("withRetry", () => {
  it("leaves a timed-out request to the engine: it already waited its whole deadline", async () => {
    const s = scripted(
      () => Promise.reject(new HokanError("timeout", "no answer within 10 ms")),
      json(200, { ok: true }),
    );
    expect((await failure(withRetry({ attempts: 3, baseMs: 1 })(s.fetcher)("/x", {}))).code).toBe("timeout");
    expect(s.seen).toHaveLength(1);
  });

  it("retries retryable failures with growing pauses, up to its limit", async () => {
    const s = scripted(problem(503, "server"), new TypeError("reset"), json(200, { ok: true }));
    const pauses: number[] = [];
    const runtime = {
      random: () => 0.5,
      setTimeout: (fn: () => void, ms: number) => {
        pauses.push(ms);
        fn();
        return 0;
      },
    };
    const send = compose(
      withRetry({ attempts: 3, baseMs: 100, maxMs: 1000, runtime }),
      withProblems(),
    )(s.fetcher);
    expect((await send("/x", {})).status).toBe(200);
    expect(pauses).toEqual([75, 150]);
  });

  it("never retries a final refusal, and stops after its limit", async () => {
    const runtime = {
      random: () => 0,
      setTimeout: (fn: () => void) => {
        fn();
        return 0;
      },
    };
    const final = scripted(problem(426, "upgrade-required", { retryable: false }));
    const once = compose(withRetry({ runtime }), withProblems())(final.fetcher);
    expect((await failure(once("/x", {}))).code).toBe("upgrade-required");
    expect(final.seen).toHaveLength(1);
    const down = scripted(new TypeError("a"), new TypeError("b"), new TypeError("c"), new TypeError("d"));
    const thrice = compose(withRetry({ attempts: 3, runtime }), withProblems())(down.fetcher);
    expect((await failure(thrice("/x", {}))).code).toBe("network");
    expect(down.seen).toHaveLength(3);
  });

  it("waits at least as long as the server's Retry-After", async () => {
    const s = scripted(new Response("", { status: 429, headers: { "retry-after": "1" } }), json(200, {}));
    const pauses: number[] = [];
    const runtime = {
      random: () => 0,
      setTimeout: (fn: () => void, ms: number) => {
        pauses.push(ms);
        fn();
        return 0;
      },
    };
    await compose(withRetry({ runtime, maxMs: 5000 }), withProblems())(s.fetcher)("/x", {});
    expect(pauses).toEqual([1000]);
  });
});

describe("withCompression", () => {
  it("gzips large bodies and leaves small ones alone", async () => {
    const s = scripted(json(200, {}), json(200, {}));
    const bodies: unknown[] = [];
    const capture: Fetcher = async (url, init) => {
      bodies.push(init.body);
      return s.fetcher(url, init);
    };
    const send = withCompression({ minBytes: 1000 })(capture);
    const big = JSON.stringify({
      changes: Array.from({ length: 200 }, (_, i) => ({ id: `d${i}`, theme: "dark", font: 12 })),
    });
    await send("/x", { method: "POST", body: big });
    await send("/x", { method: "POST", body: "{}" });
    expect(s.seen[0]?.headers.get("content-encoding")).toBe("gzip");
    const zipped = bodies[0] as Uint8Array<ArrayBuffer>;
    expect(zipped.byteLength).toBeLessThan(big.length / 5);
    const unzipped = await new Response(
      new Blob([zipped]).stream().pipeThrough(new DecompressionStream("gzip")),
    ).text();
    expect(unzipped).toBe(big);
    expect(s.seen[1]?.headers.get("content-encoding")).toBeNull();
    expect(bodies[1]).toBe("{}");
  });
});
