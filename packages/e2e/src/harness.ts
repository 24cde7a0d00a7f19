import type { AddressInfo } from "node:net";
import {
  type BackoffOptions,
  type ConflictStrategy,
  createDeviceHub,
  createReplication,
  type DeviceHub,
  type DeviceSettings,
  type Migrations,
  type NetworkState,
  type Platform,
  type RegistryEntry,
  type Replication,
} from "@hokan/core";
import {
  buildServer,
  createVerifier,
  type Database,
  type HokanServer,
  migrate,
  openPostgres,
  parseRegistry,
  signDevelopmentToken,
} from "@hokan/server";
import { scratchDatabase } from "@hokan/server/testing";
import { DexieStore } from "@hokan/storage";
import { createHttpTransport, type HttpTimeouts } from "@hokan/transport";
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
  readonly server: HokanServer;
  readonly proxy: FaultProxy;
  /** Another server process on the same database (PostgreSQL only), without a proxy. */
  second(): Promise<{ url: string; close: () => Promise<void> }>;
  close(): Promise<void>;
}

export async function startCluster(
  kind: DatabaseKind,
  registry: readonly RegistryEntry[],
  seed = 1,
  serverOptions: { liveHeartbeatMs?: number } = {},
): Promise<Cluster> {
  const { db, url, drop } = await scratchDatabase(kind, { prefix: "hokan_e2e" });
  await migrate(db);
  const options = {
    registry: parseRegistry({ apps: registry }),
    verify: await createVerifier({ secret: SECRET }),
    rateLimit: { perSecond: 10_000, burst: 10_000 },
    ...serverOptions,
  };
  const server = await buildServer({ db, ...options });
  await server.app.listen({ host: "127.0.0.1", port: 0 });
  const proxy = new FaultProxy(
    { host: "127.0.0.1", port: (server.app.server.address() as AddressInfo).port },
    seed,
  );
  await proxy.start();
  const others: (() => Promise<void>)[] = [];
  return {
    kind,
    db,
    server,
    proxy,
    second: async () => {
      if (!url) throw new Error("a second server process needs PostgreSQL");
      const otherDb = await openPostgres(url);
      const other = await buildServer({ db: otherDb, ...options });
      await other.app.listen({ host: "127.0.0.1", port: 0 });
      const close = async () => {
        await other.app.close();
        await otherDb.close();
      };
      others.push(close);
      return { url: `http://127.0.0.1:${(other.app.server.address() as AddressInfo).port}`, close };
    },
    close: async () => {
      for (const c of others) await c();
      await proxy.close();
      await server.app.close();
      await drop();
    },
  };
}

/** How a test device's engine and transport wait (the harness's short defaults otherwise). */
export interface DeviceTuning {
  readonly timeouts?: HttpTimeouts;
  readonly probeMs?: number;
  readonly backoff?: BackoffOptions;
}

/** A device: its own IndexedDB (kept across app restarts), network, settings and signed-in account. */
export class Device {
  readonly network$: BehaviorSubject<NetworkState>;
  readonly settings$: BehaviorSubject<DeviceSettings>;
  private readonly indexedDB = new IDBFactory();
  private store: DexieStore;
  private readonly open = new Map<string, { app: E2EApp; replication: Replication }>();
  private readonly tuning: DeviceTuning;

  constructor(
    private readonly baseUrl: string,
    readonly id: string,
    public accountId: string,
    readonly platform: Platform = "android",
    options: { online?: boolean; settings?: Partial<DeviceSettings>; tuning?: DeviceTuning } = {},
  ) {
    this.tuning = options.tuning ?? {};
    this.network$ = new BehaviorSubject<NetworkState>({ online: options.online ?? true, roaming: false });
    this.settings$ = new BehaviorSubject<DeviceSettings>({
      backupEnabled: true,
      overseasEnabled: false,
      ...options.settings,
    });
    this.store = this.openStore();
  }

  private openStore(): DexieStore {
    return new DexieStore({ indexedDB: this.indexedDB, IDBKeyRange, name: `hokan-${this.id}` });
  }

  /** Starts an app's replication for the signed-in account. */
  async start(
    app: E2EApp,
    baseUrl = this.baseUrl,
    token: () => Promise<string> | string = () => signDevelopmentToken(SECRET, { account: this.accountId }),
  ): Promise<Replication> {
    const account = this.accountId;
    const replication = createReplication({
      store: this.store,
      transport: deviceTransport(baseUrl, token, this.tuning.timeouts),
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
    await this.store.close();
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
) {
  return createHttpTransport({ baseUrl, token, timeouts, retry: { attempts: 2, baseMs: 20, maxMs: 200 } });
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
    connect: (account) =>
      deviceTransport(baseUrl, () => signDevelopmentToken(SECRET, { account, device: true })),
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
export function settingsScreen(baseUrl: string, account: string) {
  return createHttpTransport({
    baseUrl,
    token: () => signDevelopmentToken(SECRET, { account, device: true }),
  });
}
