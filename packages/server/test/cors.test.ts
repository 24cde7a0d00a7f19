import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM } from "../../../vitest.shared.js";
import { CorsConfigError, type CorsOptions, openPGlite, parseOrigins } from "../src/index.js";
import { type RunningServer, startServer } from "./fixtures.js";

const APP = {
  appId: "jp.example.mail",
  platform: "web" as const,
  capabilities: ["backup", "restore"] as const,
};
const WEB_APP = "https://app.example.com";

describe("CORS settings", () => {
  it("reads a list of origins, or * for any", () => {
    expect(parseOrigins(" https://app.example.com, http://localhost:5173 ")).toEqual([
      "https://app.example.com",
      "http://localhost:5173",
    ]);
    expect(parseOrigins("*")).toBe("*");
  });

  it.each([
    ["", "at least one origin"],
    ["https://app.example.com/", "is not an origin"],
    ["https://app.example.com/settings", "is not an origin"],
    ["app.example.com", "is not an origin"],
    ["ftp://files.example.com", "is not an origin"],
    ["https://APP.example.com", "is not an origin"],
  ])("refuses %j with a CorsConfigError", (list, message) => {
    let error: unknown;
    try {
      parseOrigins(list);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CorsConfigError);
    expect(error).toMatchObject({ code: "cors-config", message: expect.stringContaining(message) });
  });
});

describe("CORS over HTTP", () => {
  const servers: RunningServer[] = [];
  const start = async (cors?: CorsOptions) => {
    const s = await startServer(await openPGlite(), [APP], cors ? { cors } : {});
    servers.push(s);
    return s;
  };
  let allowList: RunningServer;
  let any: RunningServer;
  let none: RunningServer;
  beforeAll(async () => {
    [allowList, any, none] = await Promise.all([
      start({ origins: [WEB_APP], maxAgeSeconds: 120 }),
      start({ origins: "*" }),
      start(),
    ]);
  });
  afterAll(async () => {
    for (const s of servers) {
      await s.close();
      await s.db.close();
    }
  });

  const preflight = (s: RunningServer, origin: string) =>
    fetch(`${s.url}/v1/apps/jp.example.mail/push`, {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
      },
    });

  it("answers an allowed origin's preflight before authentication, with what a client sends", async () => {
    const res = await preflight(allowList, WEB_APP);
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(WEB_APP);
    expect(res.headers.get("access-control-allow-methods")).toBe("GET, POST, DELETE");
    expect(res.headers.get("access-control-allow-headers")).toBe(
      "authorization, content-type, content-encoding, hokan-protocol",
    );
    expect(res.headers.get("access-control-max-age")).toBe("120");
    expect(res.headers.get("vary")?.toLowerCase()).toBe("origin");
  });

  it("grants nothing to another origin, or to any when not configured", async () => {
    for (const res of [
      await preflight(allowList, "https://evil.example.net"),
      await preflight(none, WEB_APP),
    ]) {
      // Without an allow-origin grant the browser keeps the answer from the page and sends nothing after it.
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
    }
    const anyOrigin = await preflight(any, "https://anywhere.example.org");
    expect(anyOrigin.status).toBe(204);
    expect(anyOrigin.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("marks answers and errors readable by the allowed origin, with the headers a client reads", async () => {
    const token = await allowList.token("alice");
    const ok = await fetch(`${allowList.url}/v1/catalog`, {
      headers: { origin: WEB_APP, authorization: `Bearer ${token}` },
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("access-control-allow-origin")).toBe(WEB_APP);
    expect(ok.headers.get("access-control-expose-headers")).toBe("hokan-warning, retry-after");
    const refused = await fetch(`${allowList.url}/v1/catalog`, { headers: { origin: WEB_APP } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("access-control-allow-origin")).toBe(WEB_APP);
    expect(await refused.json()).toMatchObject({ code: "unauthorized" });
    const live = new AbortController();
    const stream = await fetch(`${allowList.url}/v1/live?scope=jp.example.mail,web,1.0.0`, {
      headers: { origin: WEB_APP, authorization: `Bearer ${token}` },
      signal: live.signal,
    });
    expect(stream.headers.get("content-type")).toBe("text/event-stream");
    expect(stream.headers.get("access-control-allow-origin")).toBe(WEB_APP);
    live.abort();
  });

  it("lets a page of an allowed origin back up and restore from Chromium; a page of another origin cannot", async () => {
    // Two pages on other ports of 127.0.0.1 are two other origins than the server's.
    const pages: Server[] = [];
    const page = async () => {
      const server = createServer((_req, res) => res.end("<!doctype html><title>web app</title>"));
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      pages.push(server);
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    };
    const [allowedPage, otherPage] = await Promise.all([page(), page()]);
    const s = await start({ origins: [allowedPage] });
    const token = await s.token("alice");
    const browser = await chromium.launch({
      executablePath: CHROMIUM.executablePath,
      args: [...CHROMIUM.args],
    });
    try {
      const tab = await browser.newPage();
      const roundTrip = async (origin: string) => {
        await tab.goto(origin);
        return tab.evaluate(
          async ({ url, token }) => {
            const scope = { appId: "jp.example.mail", appVersion: "1.0.0", platform: "web" };
            const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
            try {
              const push = await fetch(`${url}/v1/apps/jp.example.mail/push`, {
                method: "POST",
                headers,
                body: JSON.stringify({
                  scope,
                  idempotencyKey: crypto.randomUUID(),
                  changes: [
                    {
                      collection: "settings",
                      id: "theme",
                      changeId: crypto.randomUUID(),
                      epoch: 1,
                      baseRev: 0,
                      hlc: "001795564800000:000000:web",
                      data: { theme: "dark" },
                    },
                  ],
                }),
              });
              const pull = await fetch(`${url}/v1/apps/jp.example.mail/pull`, {
                method: "POST",
                headers,
                body: JSON.stringify({ scope, checkpoint: { epoch: 0, seq: 0 }, limit: 10 }),
              });
              const { documents } = (await pull.json()) as { documents: { data: unknown }[] };
              return { push: push.status, restored: documents.map((d) => d.data) };
            } catch (error) {
              return { error: String(error) };
            }
          },
          { url: s.url, token },
        );
      };
      expect(await roundTrip(allowedPage)).toEqual({ push: 200, restored: [{ theme: "dark" }] });
      expect(await roundTrip(otherPage)).toEqual({ error: expect.stringContaining("Failed to fetch") });
    } finally {
      await browser.close();
      for (const p of pages) p.close();
    }
  }, 60_000);
});
