import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import type { RegistryEntry } from "@hokan/core";
import { build } from "esbuild";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM } from "../../../vitest.shared.js";
import { type Cluster, deviceToken, startCluster } from "../src/harness.js";

// More apps than the six connections a browser opens to one server.
const APPS = Array.from({ length: 12 }, (_, i) => `jp.example.web${String(i).padStart(2, "0")}`);
const REGISTRY: RegistryEntry[] = APPS.map((appId) => ({
  appId,
  platform: "web",
  capabilities: ["backup", "restore", "bulkBackup", "bulkDelete"],
}));
const IDS = ["theme", "locale", "consent"];

type PageApi = {
  restore(account: string, token: string, appIds: string[], ids: string[]): Promise<number>;
  holds(appId: string, id: string): Promise<void>;
  list(): Promise<{ appId: string; documents: number; state: string }[]>;
};

describe("a device hub of many apps in Chromium", () => {
  let cluster: Cluster;
  let browser: Browser;
  let page: Page;
  let url: string;

  /** One push of `ids` for an app, as another device backs it up. */
  const push = async (account: string, appId: string, ids: readonly string[], tag: string) => {
    const res = await fetch(`${url}/v1/apps/${appId}/push`, {
      method: "POST",
      headers: { authorization: `Bearer ${deviceToken(account)}`, "content-type": "application/json" },
      body: JSON.stringify({
        scope: { platform: "web", appVersion: "1.0.0" },
        idempotencyKey: `push-${account}-${APPS.indexOf(appId)}-${tag}`,
        changes: ids.map((id) => ({
          collection: "prefs",
          id,
          changeId: `${appId}-${id}-${tag}`,
          epoch: 1,
          baseRev: 0,
          hlc: `${String(Date.now()).padStart(15, "0")}:000000:other`,
          data: { value: `${id} of ${appId}` },
        })),
      }),
    });
    expect(res.status, await res.text()).toBe(200);
  };

  beforeAll(async () => {
    cluster = await startCluster("pglite", REGISTRY);
    const server = cluster.server?.app.server;
    if (!server) throw new Error("the cluster's server runs in this process");
    const bundle = await build({
      entryPoints: [fileURLToPath(new URL("./pages/hub-page.ts", import.meta.url))],
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      conditions: ["hokan-source"],
      write: false,
      logLevel: "warning",
    });
    const script = bundle.outputFiles[0]?.text ?? "";
    // The page comes from the server's own origin, ahead of the server's routes (which all ask for a token).
    const routes = server.listeners("request") as RequestListener[];
    server.removeAllListeners("request");
    server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      if (req.url === "/hub/") {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        res.end('<!doctype html><meta charset="utf-8"><script type="module" src="/hub/page.js"></script>');
      } else if (req.url === "/hub/page.js") {
        res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" });
        res.end(script);
      } else for (const route of routes) route(req, res);
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM.executablePath, args: [...CHROMIUM.args] });
    page = await (await browser.newContext()).newPage();
    await page.goto(`${url}/hub/`);
    await page.waitForFunction(() => "restore" in globalThis);
  });
  afterAll(async () => {
    await browser?.close();
    await cluster?.close();
  });

  it("restores every app, holds one live channel for the device, and hears another device's change", async () => {
    const account = "many-apps";
    for (const appId of APPS) await push(account, appId, IDS, "old-phone");
    const ms = await page.evaluate(
      ([a, t, apps, ids]) =>
        Promise.race([
          (globalThis as unknown as PageApi).restore(a, t, apps, ids),
          new Promise<number>((_, reject) =>
            setTimeout(() => reject(new Error("the restore stalled")), 20_000),
          ),
        ]),
      [account, deviceToken(account), APPS, IDS] as const,
    );
    expect(ms).toBeLessThan(20_000);
    // Every app and the list on one connection: a channel per app would take every connection the browser has.
    expect(cluster.server?.hub.connectionsOf(account)).toBe(1);
    const list = await page.evaluate(() => (globalThis as unknown as PageApi).list());
    expect(list.map((a) => [a.appId, a.documents])).toEqual(APPS.map((appId) => [appId, IDS.length]));
    // A change from another device reaches the last app through the shared channel, within its round trip.
    const heard = page.evaluate(
      ([appId]) => (globalThis as unknown as PageApi).holds(appId as string, "wallpaper"),
      [APPS.at(-1)] as const,
    );
    await push(account, APPS.at(-1) as string, ["wallpaper"], "other-device");
    await expect(heard).resolves.toBeUndefined();
  }, 60_000);
});
