import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { RegistryEntry } from "@hokan/core";
import { buildServer, createVerifier, migrate, openPGlite, parseRegistry } from "@hokan/server";
import { build, createLogger, createServer, type Logger, preview, type ViteDevServer } from "vite";

const DAY = 86_400_000;

/**
 * The demo's registry, dated from `now`: Mail and Notes on every platform, Mail asking for version 3.1.0 from 45 days
 * on (the sample runs 3.0.0, so its update notice shows), and Photos, retired 10 days ago with 90 days to restore.
 */
export function demoRegistry(now = Date.now()): RegistryEntry[] {
  const all = ["backup", "restore", "bulkBackup", "bulkDelete"] as const;
  return (["android", "ios", "web"] as const).flatMap((platform) => [
    {
      appId: "jp.example.mail",
      platform,
      name: "Mail",
      capabilities: [...all],
      minVersion: "3.1.0",
      minVersionEnforcedFrom: new Date(now + 45 * DAY).toISOString(),
      updateUrl: "https://apps.example.jp/mail",
    },
    { appId: "jp.example.notes", platform, name: "Notes", capabilities: [...all] },
    {
      appId: "jp.example.photos",
      platform,
      name: "Photos",
      capabilities: [...all],
      retiredAt: new Date(now - 10 * DAY).toISOString(),
      restoreGraceDays: 90,
    },
  ]);
}

/** Development only: the demo signs its own tokens. */
const DEMO_SECRET = "hokan-demo-secret-not-for-production-0123";

export interface RunningDemo {
  readonly url: string;
  readonly apiUrl: string;
  /** Stops the backup server (the screen stays): what a device sees when the server is down. */
  stopApi(): Promise<void>;
  /** Starts it again, on the same port and database. */
  startApi(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the backup server on PGlite (a data directory, or memory) and the settings screen (Vite) in front of it, both
 * on 127.0.0.1; the page reaches the API through the same origin.
 */
export async function startDemo(
  options: {
    /** The settings screen's port (default: any free one). */
    port?: number;
    /** Whether `port` must be the one (default true when a port is given); else the next free port is taken. */
    strictPort?: boolean;
    dataDir?: string;
    /** The registry (default {@link demoRegistry}): a test's own shows the states other entries cause. */
    registry?: readonly RegistryEntry[];
    /** Bytes each account may keep per app (default: no limit). */
    quotaBytes?: number;
    /** Serve the screen built for production (bundled, minified) rather than through Vite's dev server. */
    built?: boolean;
  } = {},
): Promise<RunningDemo> {
  const db = await openPGlite(options.dataDir);
  await migrate(db);
  const serverOptions = {
    db,
    registry: parseRegistry({ apps: options.registry ?? demoRegistry() }),
    ...(options.quotaBytes === undefined ? {} : { quotaBytes: options.quotaBytes }),
    verify: await createVerifier({ secret: DEMO_SECRET }),
    devTokenSecret: DEMO_SECRET,
  };
  let api = await buildServer(serverOptions);
  await api.app.listen({ host: "127.0.0.1", port: 0 });
  const apiPort = (api.app.server.address() as AddressInfo).port;
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  let apiUp = true;
  const root = fileURLToPath(new URL(".", import.meta.url));
  const listen = {
    host: "127.0.0.1",
    port: options.port ?? 0,
    strictPort: options.strictPort ?? (options.port !== undefined && options.port !== 0),
    proxy: { "/v1": { target: apiUrl, changeOrigin: false } },
  };
  const common = {
    root,
    configFile: false as const,
    logLevel: "warn" as const,
    // With the backup server stopped, the proxy answers 502 as a gateway does; one log line per refused request
    // would drown the demo's output.
    customLogger: quietProxy(),
    resolve: { conditions: ["hokan-source"] },
  };
  let web: { httpServer: ViteDevServer["httpServer"]; close(): Promise<void> };
  let outDir: string | undefined;
  try {
    if (options.built) {
      // The screen as a carrier would ship it: bundled and minified, served as static files.
      outDir = await mkdtemp(join(tmpdir(), "hokan-demo-"));
      await build({
        ...common,
        build: { outDir, emptyOutDir: true, target: "es2022", reportCompressedSize: false },
      });
      web = await preview({ ...common, build: { outDir }, preview: listen });
    } else {
      const vite = await createServer({ ...common, server: listen });
      web = vite;
      try {
        await vite.listen();
      } catch (e) {
        await vite.close();
        throw e;
      }
    }
  } catch (e) {
    // The port is taken (with strictPort), or the build failed: nothing started may outlive the failure.
    await api.app.close();
    await db.close();
    if (outDir) await rm(outDir, { recursive: true, force: true });
    throw e;
  }
  const address = web.httpServer?.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}/`,
    apiUrl,
    stopApi: async () => {
      if (!apiUp) return;
      apiUp = false;
      await api.app.close();
    },
    startApi: async () => {
      if (apiUp) return;
      api = await buildServer(serverOptions);
      await api.app.listen({ host: "127.0.0.1", port: apiPort });
      apiUp = true;
    },
    close: async () => {
      await web.close();
      if (outDir) await rm(outDir, { recursive: true, force: true });
      if (apiUp) await api.app.close();
      await db.close();
    },
  };
}

/** Vite's logger at `warn`, without its line per request the proxy could not pass on. */
function quietProxy(): Logger {
  const logger = createLogger("warn");
  const error = logger.error.bind(logger);
  logger.error = (msg, options) => {
    if (!msg.includes("http proxy error")) error(msg, options);
  };
  return logger;
}
