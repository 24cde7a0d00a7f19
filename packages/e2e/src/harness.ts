import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type BackoffOptions,
  type ConflictStrategy,
  createDeviceHub,
  createReplication,
  type DeviceHub,
  type DeviceSettings,
  type LocalStore,
  type Migrations,
  type NetworkState,
  type Platform,
  type RegistryEntry,
  type Replication,
} from "@hokan/core";
import {
  buildServer,
  CLAIMS,
  createVerifier,
  type Database,
  type HokanServer,
  migrate,
  openPostgres,
  parseRegistry,
} from "@hokan/server";
import { scratchDatabase } from "@hokan/server/testing";
import { DexieStore } from "@hokan/storage";
import { SqliteStore } from "@hokan/storage-sqlite";
import { betterSqlite3Driver } from "@hokan/storage-sqlite/better-sqlite3";
import { createHttpTransport, type Fetcher, type HttpTimeouts } from "@hokan/transport";
import Sqlite from "better-sqlite3";
import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import { BehaviorSubject, type Observable } from "rxjs";
import { FaultProxy } from "./fault-proxy.js";

export const SECRET = "hokan-e2e-secret-0123456789abcdef0123456789";

export type DatabaseKind = "pglite" | "postgres";

/** An app as the devices run it. */
export interface E2EApp {
  readonly appId: string;
  readonly appVersion: string;
  readonly schemaVersion?: number;
  readonly collections: Readonly<Record<string, ConflictStrategy>>;
  readonly migrations?: Migrations;
  /** The restore-before-write guard's timeout, as a real app would set it. */
  readonly restoreFirstMs?: number;
}

/** The mail app the scenarios run: merged settings and last-writer-wins consent. */
export const MAIL: E2EApp = {
  appId: "jp.example.mail",
  appVersion: "3.0.0",
  collections: { settings: "merge", consent: "lww" },
};
/** A second app, to show apps apart. */
export const NOTES: E2EApp = {
  appId: "jp.example.notes",
  appVersion: "1.0.0",
  collections: { prefs: "lww" },
};

/** The server side: a database, a server on 127.0.0.1 and a fault proxy in front of it. */
export interface Cluster {
  readonly kind: DatabaseKind;
  readonly db: Database;
  /** The server, when it runs in this process (not with `processes`). */
  readonly server?: HokanServer;
  readonly proxy: FaultProxy;
  /** Another server process on the same database (PostgreSQL only), without a proxy. */
  second(): Promise<{ url: string; close: () => Promise<void> }>;
  close(): Promise<void>;
}

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  readonly liveHeartbeatMs?: number;
  /**
   * Run each server as its CLI in a process of its own (PostgreSQL only), not in this one: this process may then
   * take away globals the server's libraries need (the phone suite does).
   */
  readonly processes?: boolean;
}

export async function startCluster(
  kind: DatabaseKind,
  registry: readonly RegistryEntry[],
  seed = 1,
  serverOptions: ClusterOptions = {},
): Promise<Cluster> {
  const { processes, ...inProcess } = serverOptions;
  const { db, url, drop } = await scratchDatabase(kind, { prefix: "hokan_e2e" });
  await migrate(db);
  const options = {
    registry: parseRegistry({ apps: registry }),
    verify: await createVerifier({ secret: SECRET }),
    rateLimit: { perSecond: 10_000, burst: 10_000 },
    ...inProcess,
  };
  const others: (() => Promise<void>)[] = [];
  // The first server shares the cluster's database connection; each other one opens its own, as a process would.
  const startServer = async (
    first: boolean,
  ): Promise<{ port: number; server?: HokanServer; close: () => Promise<void> }> => {
    if (processes) {
      if (!url) throw new Error("servers in processes of their own need PostgreSQL");
      const child = await spawnServer(url, registry, serverOptions.liveHeartbeatMs);
      return { port: child.port, close: child.stop };
    }
    const otherDb = first ? db : await openPostgres(url as string);
    const server = await buildServer({ db: otherDb, ...options });
    await server.app.listen({ host: "127.0.0.1", port: 0 });
    return {
      port: (server.app.server.address() as AddressInfo).port,
      server,
      close: async () => {
        await server.app.close();
        if (otherDb !== db) await otherDb.close();
      },
    };
  };
  const first = await startServer(true);
  const proxy = new FaultProxy({ host: "127.0.0.1", port: first.port }, seed);
  await proxy.start();
  return {
    kind,
    db,
    ...(first.server ? { server: first.server } : {}),
    proxy,
    second: async () => {
      if (!url) throw new Error("a second server process needs PostgreSQL");
      const other = await startServer(false);
      others.push(other.close);
      return { url: `http://127.0.0.1:${other.port}`, close: other.close };
    },
    close: async () => {
      for (const c of others) await c();
      await proxy.close();
      await first.close();
      await drop();
    },
  };
}

const SERVER_BIN = fileURLToPath(new URL("../../server/bin/hokan-server.js", import.meta.url));

/** A server's CLI running in a process of its own. */
export interface ServerChild {
  readonly port: number;
  readonly pid: number;
  /** Ends it with SIGTERM and waits for it to exit. */
  stop(): Promise<void>;
  /** Resolves with its exit code when it exits. */
  readonly exited: Promise<number | null>;
  /** What it has written to stdout and stderr so far. */
  output(): string;
}

/**
 * The server's CLI in a process of its own on `databaseUrl`, as an operator runs it, with `args` added (the e2e secret
 * and a high rate limit are given); `stop` ends it with SIGTERM.
 */
export async function spawnServer(
  databaseUrl: string,
  registry: readonly RegistryEntry[],
  liveHeartbeatMs?: number,
  extra: readonly string[] = [],
): Promise<ServerChild> {
  const dir = await mkdtemp(join(tmpdir(), "hokan-e2e-server-"));
  const file = join(dir, "registry.json");
  await writeFile(file, JSON.stringify({ apps: registry }));
  const args = [SERVER_BIN, "--port", "0", "--database-url", databaseUrl, "--registry", file];
  args.push("--jwt-secret", SECRET, "--rate-limit", "10000/10000");
  if (liveHeartbeatMs !== undefined) args.push("--live-heartbeat-ms", String(liveHeartbeatMs));
  args.push(...extra);
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let output = "";
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server did not start:\n${output}`)), 30_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const m = /"address":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(output);
        if (m?.[1]) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      child.once("exit", (code) => reject(new Error(`the server exited with ${code}:\n${output}`)));
    });
    void exited.then(() => rm(dir, { recursive: true, force: true }));
    return {
      port,
      pid: child.pid as number,
      exited,
      output: () => output,
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
        await exited;
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    child.kill("SIGKILL");
    await exited;
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * A token as the app's sign-in SDK would hand it over (HS256 with the cluster's secret, an hour long), signed with
 * `node:crypto` alone: the phone suite's process has none of the web globals a JWT library needs.
 */
export function deviceToken(account: string, claims: { device?: boolean; entitled?: boolean } = {}): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const body = `${part({ alg: "HS256", typ: "JWT" })}.${part({
    sub: account,
    iat: now,
    exp: now + 3600,
    [CLAIMS.entitled]: claims.entitled ?? true,
    [CLAIMS.device]: claims.device ?? true,
  })}`;
  return `${body}.${createHmac("sha256", SECRET).update(body).digest("base64url")}`;
}

/** How a test device's engine and transport wait (the harness's short defaults otherwise). */
export interface DeviceTuning {
  readonly timeouts?: HttpTimeouts;
  readonly probeMs?: number;
  readonly backoff?: BackoffOptions;
}

/**
 * What a test device runs on. `web`: IndexedDB (fake-indexeddb) and the platform's streaming `fetch`. `phone`: as a
 * React Native app does, a SQLite file and a `fetch` that hands over whole answers only ({@link bufferedFetch}), so
 * the live channel long-polls.
 */
export type DeviceKind = "web" | "phone";

type DeviceStore = LocalStore & { close(): Promise<void> };

/** A device: its own store (kept across app restarts), network, settings and signed-in account. */
export class Device {
  readonly network$: BehaviorSubject<NetworkState>;
  readonly settings$: BehaviorSubject<DeviceSettings>;
  private readonly indexedDB = new IDBFactory();
  private store: Promise<DeviceStore>;
  private readonly open = new Map<string, { app: E2EApp; replication: Replication }>();
  private readonly tuning: DeviceTuning;
  private readonly kind: DeviceKind;

  constructor(
    private readonly baseUrl: string,
    readonly id: string,
    public accountId: string,
    readonly platform: Platform = "android",
    options: {
      online?: boolean;
      settings?: Partial<DeviceSettings>;
      tuning?: DeviceTuning;
      kind?: DeviceKind;
    } = {},
  ) {
    this.tuning = options.tuning ?? {};
    this.kind = options.kind ?? "web";
    this.network$ = new BehaviorSubject<NetworkState>({ online: options.online ?? true, roaming: false });
    this.settings$ = new BehaviorSubject<DeviceSettings>({
      backupEnabled: true,
      overseasEnabled: false,
      ...options.settings,
    });
    this.store = this.openStore();
  }

  private get file(): string {
    return join(tmpdir(), `hokan-e2e-${this.id}.sqlite`);
  }

  private async openStore(): Promise<DeviceStore> {
    if (this.kind === "phone") return SqliteStore.open(betterSqlite3Driver(new Sqlite(this.file)));
    return new DexieStore({ indexedDB: this.indexedDB, IDBKeyRange, name: `hokan-${this.id}` });
  }

  /** Starts an app's replication for the signed-in account. */
  async start(
    app: E2EApp,
    baseUrl = this.baseUrl,
    token: () => Promise<string> | string = () => deviceToken(this.accountId),
  ): Promise<Replication> {
    const account = this.accountId;
    const replication = createReplication({
      store: await this.store,
      transport: deviceTransport(baseUrl, token, this.tuning.timeouts, this.kind),
      accountId: account,
      app: {
        appId: app.appId,
        appVersion: app.appVersion,
        platform: this.platform,
        ...(app.schemaVersion ? { schemaVersion: app.schemaVersion } : {}),
      },
      deviceId: this.id,
      collections: app.collections,
      settings$: this.settings$,
      network$: this.network$,
      backoff: this.tuning.backoff ?? { baseMs: 50, maxMs: 1000 },
      ...(this.tuning.probeMs === undefined ? {} : { probeMs: this.tuning.probeMs }),
      ...(app.migrations ? { migrations: app.migrations } : {}),
      ...(app.restoreFirstMs ? { restoreFirst: { timeoutMs: app.restoreFirstMs } } : {}),
    });
    await replication.start();
    this.open.set(app.appId, { app, replication });
    return replication;
  }

  app(appId: string): Replication {
    const r = this.open.get(appId)?.replication;
    if (!r) throw new Error(`${appId} is not open on ${this.id}`);
    return r;
  }

  get replications(): Replication[] {
    return [...this.open.values()].map((o) => o.replication);
  }

  /** Kills every app (no goodbye to the store or the server) and starts them again on a new connection to IndexedDB. */
  async restart(): Promise<void> {
    const apps = [...this.open.values()].map((o) => o.app);
    for (const o of this.open.values()) await o.replication.stop();
    this.open.clear();
    if (this.kind === "phone") await (await this.store).close();
    this.store = this.openStore();
    for (const app of apps) await this.start(app);
  }

  async switchAccount(accountId: string): Promise<void> {
    const apps = [...this.open.values()].map((o) => o.app);
    for (const o of this.open.values()) await o.replication.stop();
    this.open.clear();
    this.accountId = accountId;
    for (const app of apps) await this.start(app);
  }

  setOnline(online: boolean): void {
    this.network$.next({ ...this.network$.value, online });
  }

  setRoaming(roaming: boolean): void {
    this.network$.next({ ...this.network$.value, roaming });
  }

  settings(patch: Partial<DeviceSettings>): void {
    this.settings$.next({ ...this.settings$.value, ...patch });
  }

  async close(): Promise<void> {
    for (const o of this.open.values()) await o.replication.stop();
    this.open.clear();
    await (await this.store).close();
    if (this.kind === "phone") {
      for (const suffix of ["", "-wal", "-shm"]) await rm(`${this.file}${suffix}`, { force: true });
    }
  }
}

export async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const start = Date.now();
  while (!(await condition())) {
    if (Date.now() - start > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every replication of the devices rests (idle, held or fatal) for a moment: nothing more will happen by itself. */
export async function settled(devices: readonly Device[], timeoutMs = 30_000): Promise<void> {
  const resting = () =>
    devices.every((d) => d.replications.every((r) => ["idle", "fatal", "stopped"].includes(r.status.state)));
  const start = Date.now();
  for (;;) {
    await until(resting, Math.max(1, timeoutMs - (Date.now() - start)));
    await new Promise((r) => setTimeout(r, 150));
    if (resting()) return;
  }
}

/** The HTTP transport a test device uses: short deadlines and quick retries, so faults show within a test. */
function deviceTransport(
  baseUrl: string,
  token: () => Promise<string> | string,
  timeouts: HttpTimeouts = { connectMs: 5000 },
  kind: DeviceKind = "web",
) {
  return createHttpTransport({
    baseUrl,
    token,
    timeouts,
    retry: { attempts: 2, baseMs: 20, maxMs: 200 },
    // A phone's fetch cannot stream: the transport sees it and long-polls (a short wait, for the tests' sake).
    ...(kind === "phone" ? { fetch: bufferedFetch(), live: { waitMs: 2000 } } : {}),
  });
}

/**
 * A `fetch` as React Native's (whatwg-fetch over XMLHttpRequest), written over `node:http` so that it needs none of
 * the globals a phone lacks (Node's own `fetch` uses `structuredClone` and web streams): its answer comes when the
 * whole body is in, and it has no `body` stream, only `text()`, `json()` and `arrayBuffer()`. A streaming answer never
 * comes.
 */
export function bufferedFetch(): Fetcher {
  return (url, init) =>
    new Promise<Response>((resolve, reject) => {
      const signal = init.signal ?? undefined;
      if (signal?.aborted) return reject(new Error("aborted"));
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((value, key) => {
        headers[key] = value;
      });
      const given = init.body as string | Uint8Array | undefined | null;
      const body = given === undefined || given === null ? undefined : Buffer.from(given);
      // As a browser's XMLHttpRequest: a body goes with its length, never chunked.
      if (body) headers["content-length"] = String(body.byteLength);
      const req = httpRequest(url, { method: init.method ?? "GET", headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const bytes = Buffer.concat(chunks);
          const text = bytes.toString("utf8");
          const answerHeaders = new Headers();
          for (const [key, value] of Object.entries(res.headers)) {
            if (value !== undefined) answerHeaders.set(key, Array.isArray(value) ? value.join(", ") : value);
          }
          const status = res.statusCode ?? 0;
          resolve({
            ok: status >= 200 && status < 300,
            status,
            statusText: res.statusMessage ?? "",
            url,
            headers: answerHeaders,
            bodyUsed: false,
            text: async () => text,
            json: async () => JSON.parse(text) as unknown,
            arrayBuffer: async () =>
              bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
          } as unknown as Response);
        });
      });
      req.on("error", reject);
      signal?.addEventListener("abort", () => req.destroy(new Error("aborted")), { once: true });
      req.end(body);
    });
}

/** A device's hub (what its settings screen runs) on the real server: its own IndexedDB, the device's token. */
export interface HubDevice {
  readonly hub: DeviceHub;
  readonly network$: BehaviorSubject<NetworkState>;
  close(): Promise<void>;
}

export async function startHub(
  baseUrl: string,
  deviceId: string,
  options: { platform?: Platform; entitled$?: Observable<boolean>; debounceMs?: number } = {},
): Promise<HubDevice> {
  const network$ = new BehaviorSubject<NetworkState>({ online: true, roaming: false });
  const store = new DexieStore({ indexedDB: new IDBFactory(), IDBKeyRange, name: `hub-${deviceId}` });
  const hub = await createDeviceHub({
    store,
    connect: (account) => deviceTransport(baseUrl, () => deviceToken(account, { device: true })),
    deviceId,
    platform: options.platform ?? "android",
    network$,
    debounceMs: options.debounceMs ?? 20,
    ...(options.entitled$ ? { entitled$: options.entitled$ } : {}),
  });
  return {
    hub,
    network$,
    close: async () => {
      await hub.close();
      await store.close();
    },
  };
}

/** A client of the server as the settings screen would be (device token), for catalog and bulk delete. */
export function settingsScreen(baseUrl: string, account: string, kind: DeviceKind = "web") {
  return createHttpTransport({
    baseUrl,
    token: () => deviceToken(account, { device: true }),
    ...(kind === "phone" ? { fetch: bufferedFetch() } : {}),
  });
}
