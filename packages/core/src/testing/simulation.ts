import { BehaviorSubject } from "rxjs";
import type { ConflictStrategy } from "../conflict/types.js";
import type { DeviceSettings } from "../policy.js";
import type { LocalStore } from "../ports.js";
import type { AppScope, Platform, RegistryEntry } from "../protocol.js";
import type { Replication, ReplicationOptions } from "../replication/api.js";
import { createReplication } from "../replication/replication.js";
import type { Migrations } from "../replication/schema.js";
import { ManualRuntime } from "./manual-runtime.js";
import { MemoryServer } from "./memory-server.js";
import { MemoryStore } from "./memory-store.js";
import { type Faults, NO_FAULTS, type SimLink, SimNetwork } from "./sim-network.js";

/** An app as devices in a simulation run it. */
export interface SimApp {
  readonly scope: AppScope;
  readonly collections: Readonly<Record<string, ConflictStrategy>>;
  readonly migrations?: Migrations;
}

/** Options of {@link SimWorld}. */
export interface SimWorldOptions {
  readonly seed?: number;
  readonly faults?: Faults;
  readonly registry?: readonly RegistryEntry[];
  readonly quotaBytes?: number;
  /**
   * The server's live channels announce this heartbeat and beat at it, as the real server does (off by default: a
   * world with beating channels never comes to rest, so such tests run the clock for a set time).
   */
  readonly liveHeartbeatMs?: number;
  /**
   * The devices' {@link ReplicationOptions.safetyPullMs} (default 0, none: a timer minutes away would have the clock
   * jump there while a store outside it, a real IndexedDB, still works).
   */
  readonly safetyPullMs?: number;
}

/** Registry with every platform and capability for the given apps. */
export function openRegistry(appIds: readonly string[]): RegistryEntry[] {
  return appIds.flatMap((appId) =>
    (["android", "ios", "web"] as const).map((platform) => ({
      appId,
      platform,
      capabilities: ["backup", "restore", "bulkBackup", "bulkDelete"] as const,
    })),
  );
}

/**
 * A deterministic world: one in-memory server, a simulated network and any number of devices, on one manual clock
 * and one seeded PRNG. The same seed replays the same run exactly.
 */
export class SimWorld {
  readonly runtime: ManualRuntime;
  readonly network: SimNetwork;
  readonly server: MemoryServer;
  readonly devices: SimDevice[] = [];
  readonly safetyPullMs: number;

  constructor(options: SimWorldOptions = {}) {
    this.runtime = new ManualRuntime({ seed: options.seed ?? 1 });
    this.network = new SimNetwork(this.runtime, options.faults ?? NO_FAULTS);
    this.safetyPullMs = options.safetyPullMs ?? 0;
    this.server = new MemoryServer({
      registry: options.registry ?? openRegistry(["jp.example.mail", "jp.example.notes"]),
      now: () => this.runtime.now(),
      ...(options.quotaBytes === undefined ? {} : { quotaBytes: options.quotaBytes }),
      ...(options.liveHeartbeatMs === undefined
        ? {}
        : { heartbeat: { heartbeatMs: options.liveHeartbeatMs, timers: this.runtime } }),
    });
  }

  /** A new device with its own store (a {@link MemoryStore} unless given), signed in to `accountId`. */
  device(options: SimDeviceOptions): SimDevice {
    const device = new SimDevice(this, options);
    this.devices.push(device);
    return device;
  }

  /** Every running replication is idle and nothing is due soon: the system is at rest. */
  atRest(): boolean {
    const next = this.runtime.nextTimerAt;
    const quiet = next === undefined || next - this.runtime.now() > 120_000;
    return quiet && this.devices.every((d) => d.idle());
  }

  /** Stops every device's apps. */
  async close(): Promise<void> {
    for (const d of this.devices) await d.close();
  }

  /** Runs the clock until a promise that depends on it (a request over the simulated network) settles. */
  async run<T>(promise: Promise<T>): Promise<T> {
    let settled = false;
    const tracked = promise.finally(() => {
      settled = true;
    });
    tracked.catch(() => undefined);
    await this.runtime.runUntil(() => settled, { stepMs: 10, maxMs: 600_000 });
    return tracked;
  }

  /** Runs the clock until the system is at rest. */
  async settle(maxMs = 900_000): Promise<void> {
    try {
      await this.runtime.runUntil(() => this.atRest(), { stepMs: 100, maxMs });
    } catch (error) {
      const states = this.devices.map((d) => `${d.id}: ${d.describe()}`).join("; ");
      const next = this.runtime.nextTimerAt;
      throw new Error(
        `${(error as Error).message}; next timer in ${next === undefined ? "-" : next - this.runtime.now()} ms; ${states}`,
      );
    }
  }
}

/** Options of {@link SimWorld.device}. */
export interface SimDeviceOptions {
  readonly id: string;
  readonly accountId: string;
  readonly platform?: Platform;
  /** Wall clock error in ms (positive: ahead). */
  readonly clockSkewMs?: number;
  readonly settings?: Partial<DeviceSettings>;
  readonly online?: boolean;
  /** The device's store; it outlives restarts of the device's apps. */
  readonly store?: LocalStore;
}

/** A simulated device: a persistent store, a network link, device settings and one replication per open app. */
export class SimDevice {
  readonly store: LocalStore;
  readonly settings$: BehaviorSubject<DeviceSettings>;
  readonly id: string;
  readonly platform: Platform;
  private readonly skew: number;
  private accountIdValue: string;
  private linkValue: SimLink;
  private readonly replications = new Map<string, Replication>();
  private readonly apps = new Map<string, SimApp>();

  constructor(
    private readonly world: SimWorld,
    options: SimDeviceOptions,
  ) {
    this.store = options.store ?? new MemoryStore();
    this.id = options.id;
    this.platform = options.platform ?? "android";
    this.skew = options.clockSkewMs ?? 0;
    this.accountIdValue = options.accountId;
    this.settings$ = new BehaviorSubject({
      backupEnabled: true,
      overseasEnabled: false,
      ...options.settings,
    });
    this.linkValue = this.connect(options.online ?? true);
  }

  get accountId(): string {
    return this.accountIdValue;
  }

  get link(): SimLink {
    return this.linkValue;
  }

  /** Opens (and starts) an app's replication on this device for the current account. */
  async open(app: SimApp): Promise<Replication> {
    const existing = this.replications.get(app.scope.appId);
    if (existing) return existing;
    this.apps.set(app.scope.appId, app);
    const replication = createReplication({
      store: this.store,
      transport: this.linkValue.transport,
      accountId: this.accountIdValue,
      app: { ...app.scope, platform: this.platform },
      deviceId: this.id,
      collections: app.collections,
      settings$: this.settings$,
      network$: this.linkValue.network.state$,
      runtime: this.world.runtime.skewed(this.skew),
      pushBatchSize: 3,
      pullBatchSize: 25,
      safetyPullMs: this.world.safetyPullMs,
      ...(app.migrations ? { migrations: app.migrations } : {}),
    });
    this.replications.set(app.scope.appId, replication);
    await replication.start();
    return replication;
  }

  /** The running replication of an app. */
  app(appId: string): Replication {
    const r = this.replications.get(appId);
    if (!r) throw new Error(`${appId} is not open on ${this.id}`);
    return r;
  }

  /** Kills every app and starts them again from the persisted store (what an OS does to a backgrounded app). */
  async restart(): Promise<void> {
    const apps = [...this.apps.values()];
    await this.stopAll();
    for (const app of apps) await this.open(app);
  }

  /** Installs a new version of an app over the old one: same store, new scope and migrations. */
  async upgrade(app: SimApp): Promise<Replication> {
    const old = this.replications.get(app.scope.appId);
    this.replications.delete(app.scope.appId);
    await old?.stop();
    this.apps.delete(app.scope.appId);
    return this.open(app);
  }

  /** Signs in to another account: every app restarts under it, with the same store (namespaced by account). */
  async switchAccount(accountId: string): Promise<void> {
    const apps = [...this.apps.values()];
    await this.stopAll();
    const online = this.linkValue.state.online;
    const roaming = this.linkValue.state.roaming;
    this.accountIdValue = accountId;
    this.linkValue = this.connect(online, roaming);
    for (const app of apps) await this.open(app);
  }

  setOnline(online: boolean): void {
    this.linkValue.setOnline(online);
  }

  setRoaming(roaming: boolean): void {
    this.linkValue.setRoaming(roaming);
  }

  /** See {@link SimLink.setFrozen}. */
  setFrozen(frozen: boolean): void {
    this.linkValue.setFrozen(frozen);
  }

  updateSettings(patch: Partial<DeviceSettings>): void {
    this.settings$.next({ ...this.settings$.value, ...patch });
  }

  /** One line per open app: state, pending changes, last error. */
  describe(): string {
    return [...this.replications.entries()]
      .map(
        ([appId, r]) =>
          `${appId} ${r.status.state} pending=${r.status.pending} ${r.status.lastError?.code ?? ""}`,
      )
      .join(", ");
  }

  /** Every open app is idle. */
  idle(): boolean {
    return [...this.replications.values()].every((r) => {
      const s = r.status.state;
      return s === "idle" || s === "fatal" || s === "stopped";
    });
  }

  /** Stops every app on the device. */
  close(): Promise<void> {
    return this.stopAll();
  }

  private async stopAll(): Promise<void> {
    const all = [...this.replications.values()];
    this.replications.clear();
    for (const r of all) await r.stop();
  }

  private connect(online: boolean, roaming = false): SimLink {
    return this.world.network.link(this.world.server.connect({ accountId: this.accountIdValue }), {
      online,
      roaming,
    });
  }
}
