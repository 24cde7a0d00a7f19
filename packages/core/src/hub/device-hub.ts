import {
  BehaviorSubject,
  combineLatest,
  distinctUntilChanged,
  map,
  type Observable,
  of,
  type Subscription,
  switchMap,
} from "rxjs";
import type { ConflictStrategy } from "../conflict/types.js";
import { HokanError } from "../errors.js";
import type { DeviceSettings, NetworkState } from "../policy.js";
import type { DeviceValues, LocalStore, Transport } from "../ports.js";
import type { Catalog, CatalogEntry, DeleteResult, Platform, RegistryEntry } from "../protocol.js";
import type { Replication, SyncResult } from "../replication/api.js";
import { createReplication } from "../replication/replication.js";
import type { Migrations } from "../replication/schema.js";
import { type LiveLink, SharedLiveChannel } from "../replication/shared-live.js";
import type { ReplicationStatus, StatusError, StatusReason } from "../replication/status.js";
import { type Runtime, randomId, systemRuntime } from "../runtime.js";
import { compareVersions } from "../version.js";

/** An app on the device, as it registers with the hub. */
export interface HubApp {
  readonly appId: string;
  readonly appVersion: string;
  readonly name?: string;
  readonly schemaVersion?: number;
  readonly collections: Readonly<Record<string, ConflictStrategy>>;
  readonly migrations?: Migrations;
  /** How long first-launch reads and writes wait for the restore (default 10 s). */
  readonly restoreTimeoutMs?: number;
}

/** Options of {@link createDeviceHub}. */
export interface DeviceHubOptions {
  /** The device's store: every app's and account's data, and the device settings. */
  readonly store: LocalStore & DeviceValues;
  /** A transport to the server signed in as the account, with the device's token (catalog, bulk delete). */
  readonly connect: (accountId: string) => Transport;
  readonly deviceId: string;
  readonly platform: Platform;
  readonly network$: Observable<NetworkState>;
  readonly runtime?: Runtime;
  /** Automatic backup waits this long after an app's last write, to send a burst in one push (default 250 ms). */
  readonly debounceMs?: number;
  /**
   * Whether the account's contract includes backup (default: always). While it says no, every app's backup and
   * restore are denied (`not-entitled`) and the list shows it; the server refuses such an account's requests too.
   */
  readonly entitled$?: Observable<boolean>;
}

/**
 * A dated notice of the registry about an app, for the settings screen to say in the user's locale: its backups end
 * (or ended) at `at`; a restore is possible until `at`; the app must be updated to `minVersion` by `at` (absent: it
 * must be now), at `url` when the registry names where.
 */
export type AppNotice =
  | { readonly kind: "backups-end"; readonly at: number }
  | { readonly kind: "restore-until"; readonly at: number }
  | { readonly kind: "update-by"; readonly minVersion: string; readonly at?: number; readonly url?: string };

/** How long the hub keeps the registry's entries before it asks again (their dates change rarely). */
const REGISTRY_TTL_MS = 10 * 60_000;

/** Apps (and the list) asking for the registry within this long of one another share one answer. */
const REGISTRY_SHARE_MS = 1_000;

/** What the registry says ahead about an app running `appVersion` (none when the app is not on the device). */
export function noticesFor(entry: RegistryEntry | undefined, appVersion: string | undefined): AppNotice[] {
  if (!entry) return [];
  const notices: AppNotice[] = [];
  const retiredAt = entry.retiredAt === undefined ? Number.NaN : Date.parse(entry.retiredAt);
  if (Number.isFinite(retiredAt)) {
    notices.push({ kind: "backups-end", at: retiredAt });
    const grace = entry.restoreGraceDays ?? 0;
    if (grace > 0) notices.push({ kind: "restore-until", at: retiredAt + grace * 86_400_000 });
  }
  if (
    entry.minVersion !== undefined &&
    appVersion !== undefined &&
    compareVersions(appVersion, entry.minVersion) < 0
  ) {
    const from =
      entry.minVersionEnforcedFrom === undefined ? Number.NaN : Date.parse(entry.minVersionEnforcedFrom);
    notices.push({
      kind: "update-by",
      minVersion: entry.minVersion,
      ...(Number.isFinite(from) ? { at: from } : {}),
      ...(entry.updateUrl === undefined ? {} : { url: entry.updateUrl }),
    });
  }
  return notices;
}

/** One row of the backed-up apps list. */
export interface BackedUpApp {
  readonly appId: string;
  readonly name?: string;
  /** Registered on this device (else known only from the account's catalog). */
  readonly onDevice: boolean;
  /** Server time of the last backup, from the catalog. */
  readonly lastBackupAt?: number;
  readonly documents: number;
  readonly bytes: number;
  /**
   * - `up-to-date`, `pending` (changes wait here; `lastError` says why a retry is due), `syncing`;
   * - `held`: waiting for the device (`reason`: offline, roaming, disabled, no-account);
   * - refused by policy, as `reason` says: `not-entitled`, `unsupported`, `capability`, `retired`,
   *   `upgrade-required`, `quota`;
   * - `failed`: replication stopped on an error until something changes (`reason` is its code: `unauthorized`,
   *   `forbidden`, `internal`, ...; `lastError` has the message);
   * - `not-on-device`: in the account's catalog only.
   */
  readonly state:
    | "up-to-date"
    | "pending"
    | "syncing"
    | "held"
    | "not-entitled"
    | "unsupported"
    | "capability"
    | "retired"
    | "upgrade-required"
    | "quota"
    | "failed"
    | "not-on-device";
  /** Changes waiting on this device. */
  readonly pending: number;
  /**
   * Changes made on this device that a delete of the backup dropped before they reached the server, since the app
   * started (its `status.dropped`): they left `pending` without being backed up. Absent while none.
   */
  readonly dropped?: number;
  /**
   * Documents the server's answers changed on this device since the app started (its `status.received`): while the
   * app is `syncing`, how far a restore has come. Absent while none.
   */
  readonly received?: number;
  /** Why backup waits or is refused (the app's `status.reason`). */
  readonly reason?: StatusReason;
  /** The app's last failure on this device, until its next success. */
  readonly lastError?: StatusError;
  /** The registry's dated notices about the app (its backups ending, an update it needs); absent while none. */
  readonly notices?: readonly AppNotice[];
}

/**
 * What bulk backup did for one app; `acknowledged` only when the server answered and holds every change made here.
 * `held`: policy did not let it run (`reason`: offline, roaming, disabled, capability when the registry does not
 * offer bulk backup for the app, ...). `failed`: the server could not be reached in time or refused (`error`);
 * automatic backup keeps retrying.
 */
export type BulkBackupResult =
  | {
      readonly appId: string;
      readonly outcome: "backed-up";
      readonly acknowledged: true;
      readonly pending: 0;
    }
  | {
      readonly appId: string;
      readonly outcome: "held";
      readonly acknowledged: false;
      readonly reason: StatusReason;
      readonly pending: number;
    }
  | {
      readonly appId: string;
      readonly outcome: "failed";
      readonly acknowledged: false;
      readonly error: StatusError;
      readonly reason?: StatusReason;
      readonly pending: number;
    };

/** Options of {@link DeviceHub.bulkBackup}. */
export interface BulkBackupOptions {
  /** Called as each app finishes: how many are done, of how many. */
  readonly onProgress?: (done: number, total: number) => void;
  /** How long each app may take before it counts as `failed` with `timeout` (default 30 s). */
  readonly timeoutMs?: number;
  /** Stops waiting: the call rejects with the signal's reason (backups go on in the background). */
  readonly signal?: AbortSignal;
}

const SETTINGS_KEY = "hokan:device-settings";
const ACCOUNT_KEY = "hokan:account";
const DEFAULT_SETTINGS: DeviceSettings = { backupEnabled: true, overseasEnabled: false };

/**
 * The device's backup hub, shared by every app on it: device settings (利用設定, 海外利用設定) applied to every app at
 * once, the account set on the device, the backed-up apps list, bulk backup and bulk delete.
 *
 * @example
 * ```ts
 * const hub = await createDeviceHub({ store, connect, deviceId, platform: "android", network$ });
 * await hub.setAccount("alice");
 * const mail = await hub.register({ appId: "jp.example.mail", appVersion: "3.0.0", collections: { settings: "merge" } });
 * hub.apps$.subscribe(renderList);
 * ```
 */
export async function createDeviceHub(options: DeviceHubOptions): Promise<DeviceHub> {
  const settings = (await options.store.getDeviceValue<DeviceSettings>(SETTINGS_KEY)) ?? DEFAULT_SETTINGS;
  const account = (await options.store.getDeviceValue<string | null>(ACCOUNT_KEY)) ?? null;
  const hub = new DeviceHub(options, settings);
  if (account) await hub.setAccount(account);
  return hub;
}

export class DeviceHub {
  private readonly settingsSubject: BehaviorSubject<DeviceSettings>;
  private readonly apps = new Map<string, HubApp>();
  private readonly running = new Map<string, Replication>();
  private readonly catalog = new BehaviorSubject<Catalog>({ apps: [] });
  /** The registry's entries for the device's platform, by app id, and when they were fetched (runtime clock). */
  private readonly registry = new BehaviorSubject<ReadonlyMap<string, RegistryEntry>>(new Map());
  private registryAt = Number.NEGATIVE_INFINITY;
  private readonly registered = new BehaviorSubject<readonly string[]>([]);
  private accountId: string | null = null;
  private deviceTransport: Transport | undefined;
  private readonly runtime: Runtime;
  private watch: Subscription | undefined;
  /** The device's one live channel for the account: every app's hints and the catalog's. */
  private live: SharedLiveChannel | undefined;
  /** The account's catalog hints (every app's backups and deletes, from any device): the list follows them. */
  private catalogChannel: LiveLink | undefined;
  private catalogNetwork: Subscription | undefined;
  /** The last registry read (runtime clock), shared by the apps and the list that ask at about the same time. */
  private registryRead: { readonly at: number; readonly entries: Promise<RegistryEntry[]> } | undefined;
  /** A catalog fetch in flight, and whether another is due after it. */
  private fetching: Promise<void> | undefined;
  private fetchAgain = false;

  constructor(
    private readonly options: DeviceHubOptions,
    settings: DeviceSettings,
  ) {
    this.settingsSubject = new BehaviorSubject(settings);
    this.runtime = options.runtime ?? systemRuntime;
  }

  /** The device settings, now and on every change. */
  get settings$(): Observable<DeviceSettings> {
    return this.settingsSubject.asObservable();
  }

  get settings(): DeviceSettings {
    return this.settingsSubject.value;
  }

  /** 利用設定: backup on or off for every app on this device, stored at once and applied at once. */
  setBackupEnabled(backupEnabled: boolean): Promise<void> {
    return this.saveSettings({ ...this.settings, backupEnabled });
  }

  /** 海外利用設定: back up and restore while roaming abroad. */
  setOverseasEnabled(overseasEnabled: boolean): Promise<void> {
    return this.saveSettings({ ...this.settings, overseasEnabled });
  }

  get account(): string | null {
    return this.accountId;
  }

  /**
   * Sets, switches or removes the account on the device. Every app restarts under the new account: the old account's
   * data and queue stay in its own namespace, never sent under the new one, and the new account's backup is restored
   * before the apps' defaults can overwrite it.
   */
  async setAccount(accountId: string | null): Promise<void> {
    for (const r of this.running.values()) await r.stop();
    this.running.clear();
    this.watch?.unsubscribe();
    this.closeCatalogChannel();
    this.accountId = accountId;
    await this.options.store.setDeviceValue(ACCOUNT_KEY, accountId);
    this.catalog.next({ apps: [] });
    this.live?.close();
    this.live = undefined;
    this.deviceTransport = accountId === null ? undefined : this.options.connect(accountId);
    if (accountId === null || !this.deviceTransport) return;
    this.live = new SharedLiveChannel({ transport: this.deviceTransport, runtime: this.runtime });
    for (const app of this.apps.values()) await this.startApp(app);
    this.watchForCatalogChanges();
    this.openCatalogChannel();
    await this.refreshList().catch(() => undefined);
  }

  /**
   * Removes an account's data from this device (every registered app's documents, queue and checkpoint); its backup
   * on the server stays. Signs it out first if it is the account on the device.
   */
  async forgetAccount(accountId: string): Promise<void> {
    if (this.accountId === accountId) await this.setAccount(null);
    for (const appId of this.apps.keys())
      await this.options.store.dropNamespace({ account: accountId, app: appId });
  }

  /** Registers an app (or a new version of it) and starts backing it up for the account on the device. */
  async register(app: HubApp): Promise<Replication> {
    const previous = this.running.get(app.appId);
    if (previous) await previous.stop();
    this.apps.set(app.appId, app);
    this.registered.next([...this.apps.keys()].sort());
    if (this.accountId === null)
      throw new HokanError("no-account", "set an account on the device before apps back up");
    const r = await this.startApp(app);
    this.watchForCatalogChanges();
    return r;
  }

  /** The running replication of a registered app. */
  app(appId: string): Replication {
    const r = this.running.get(appId);
    if (r) return r;
    throw this.accountId === null
      ? new HokanError("no-account", "set an account on the device first")
      : new HokanError("not-found", `${appId} is not registered on this device`);
  }

  /**
   * The backed-up apps list: the account's catalog (authoritative for what the server holds, with the server's last
   * backup time) merged with each registered app's state on this device. It follows every backup and delete.
   */
  get apps$(): Observable<readonly BackedUpApp[]> {
    return this.registered.pipe(
      switchMap((ids) => {
        const statuses = ids.flatMap((id) => {
          const r = this.running.get(id);
          return r ? [r.status$.pipe(map((s) => [id, s] as const))] : [];
        });
        return combineLatest([
          this.catalog,
          statuses.length ? combineLatest(statuses) : of([]),
          this.registry,
        ]);
      }),
      map(([catalog, statuses]) => this.list(catalog, new Map(statuses))),
    );
  }

  /** Fetches the catalog again and returns the list. */
  async refreshList(): Promise<readonly BackedUpApp[]> {
    const transport = this.requireAccount();
    this.catalog.next(await transport.catalog());
    await this.refreshRegistry(transport);
    return this.list(this.catalog.value, new Map([...this.running].map(([id, r]) => [id, r.status])));
  }

  /**
   * Backs up every registered app now and checks with the server, side by side; says for each whether the server
   * acknowledged everything, why it is held, or why it failed. Apps the registry does not offer bulk backup for are
   * `held` with `capability` (their own automatic backup goes on).
   *
   * @example
   * ```ts
   * const results = await hub.bulkBackup({ onProgress: (done, total) => bar(done / total), timeoutMs: 20_000 });
   * const failed = results.filter((r) => r.outcome === "failed");
   * ```
   */
  async bulkBackup(
    options: BulkBackupOptions | ((done: number, total: number) => void) = {},
  ): Promise<BulkBackupResult[]> {
    const {
      onProgress,
      timeoutMs = 30_000,
      signal,
    } = typeof options === "function" ? { onProgress: options } : options;
    this.requireAccount();
    const apps = [...this.running];
    let done = 0;
    const results = await Promise.all(
      apps.map(async ([appId, r]) => {
        const synced = await r.sync({ bulk: true, timeoutMs, ...(signal ? { signal } : {}) });
        const result = bulkResult(appId, synced, this.runtime.now());
        onProgress?.(++done, apps.length);
        return result;
      }),
    );
    await this.refreshList().catch(() => undefined);
    return results;
  }

  /**
   * Deletes the account's backup of every app the registry offers bulk delete for on this platform (the others are in
   * the result's `skipped`), and every change queued on this device for them from before (each app learns the new
   * epoch at once). Other devices learn it from their live channel. Retried with one request id, so a lost answer
   * never deletes twice. Rejects with a `HokanError` when no answer came (`network`, `timeout`: retryable; if only the
   * answer was lost, the backup is gone, and the list shows it once this device hears of it) or the server refused
   * (`not-entitled`, `forbidden`).
   */
  async bulkDelete(): Promise<DeleteResult> {
    const transport = this.requireAccount();
    const requestId = randomId(this.runtime);
    let result: DeleteResult | undefined;
    for (let attempt = 1; result === undefined; attempt++) {
      try {
        result = await transport.deleteAll(requestId, this.options.platform);
      } catch (error) {
        const e = HokanError.from(error, "network");
        if (attempt >= 3 || !e.retryable) throw e;
      }
    }
    const deleted = new Map(result.apps.map((a) => [a.appId, a.epoch]));
    for (const [appId, r] of this.running) {
      const epoch = deleted.get(appId);
      if (epoch !== undefined) await r.backupDeleted(epoch);
    }
    this.catalog.next({ apps: this.catalog.value.apps.filter((a) => !deleted.has(a.appId)) });
    await this.refreshList().catch(() => undefined);
    return result;
  }

  async close(): Promise<void> {
    this.watch?.unsubscribe();
    this.closeCatalogChannel();
    for (const r of this.running.values()) await r.stop();
    this.running.clear();
    this.live?.close();
    this.live = undefined;
  }

  private async startApp(app: HubApp): Promise<Replication> {
    const accountId = this.accountId as string;
    const r = createReplication({
      store: this.options.store,
      transport: this.sharingRegistry(this.options.connect(accountId)),
      accountId,
      app: {
        appId: app.appId,
        appVersion: app.appVersion,
        platform: this.options.platform,
        ...(app.schemaVersion ? { schemaVersion: app.schemaVersion } : {}),
      },
      deviceId: this.options.deviceId,
      collections: app.collections,
      settings$: this.settingsSubject,
      network$: this.options.network$,
      runtime: this.runtime,
      restoreFirst: { timeoutMs: app.restoreTimeoutMs ?? 10_000 },
      debounceMs: this.options.debounceMs ?? 250,
      // One channel for every app of the device: a browser gives a server six connections, not one per app.
      ...(this.live ? { live: this.live } : {}),
      ...(this.options.entitled$ ? { entitled$: this.options.entitled$ } : {}),
      ...(app.migrations ? { migrations: app.migrations } : {}),
    });
    this.running.set(app.appId, r);
    this.registered.next([...this.apps.keys()].sort());
    await r.start();
    return r;
  }

  /** The catalog changes when an app here backs up or learns of a delete: fetch it again then. */
  private watchForCatalogChanges(): void {
    this.watch?.unsubscribe();
    const signals = [...this.running.values()].map((r) =>
      r.status$.pipe(
        map((s) => `${s.lastPushAt ?? 0}/${s.epoch}`),
        distinctUntilChanged(),
      ),
    );
    this.watch = combineLatest(signals).subscribe(() => this.refreshSoon());
  }

  /**
   * The account's catalog hints: a backup or delete of any app from any device (apps not on this device too) is
   * fetched into the list within one live round trip. Open while the device may talk to the server (online, and not
   * roaming with overseas use off); reopened with backoff, and the list fetched again after every reopening.
   */
  private openCatalogChannel(): void {
    if (!this.live) return;
    const channel = this.live.joinCatalog({
      event: () => this.refreshSoon(),
      reopened: () => this.refreshSoon(),
    });
    this.catalogChannel = channel;
    this.catalogNetwork = combineLatest([this.options.network$, this.settingsSubject]).subscribe(
      ([network, settings]) => channel.want(network.online && (!network.roaming || settings.overseasEnabled)),
    );
  }

  private closeCatalogChannel(): void {
    this.catalogNetwork?.unsubscribe();
    this.catalogNetwork = undefined;
    this.catalogChannel?.close();
    this.catalogChannel = undefined;
  }

  /** Fetches the catalog again, one fetch at a time: hints arriving meanwhile cause one more fetch after it. */
  private refreshSoon(): void {
    if (this.fetching) {
      this.fetchAgain = true;
      return;
    }
    this.fetching = this.refreshList()
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => {
        this.fetching = undefined;
        if (this.fetchAgain) {
          this.fetchAgain = false;
          this.refreshSoon();
        }
      });
  }

  /** The registry's entries, fetched again once they are older than {@link REGISTRY_TTL_MS}; kept on a failure. */
  private async refreshRegistry(transport: Transport): Promise<void> {
    const now = this.runtime.now();
    if (now - this.registryAt < REGISTRY_TTL_MS) return;
    try {
      const entries = await this.readRegistry(transport, this.options.platform);
      this.registryAt = now;
      this.registry.next(new Map(entries.map((e) => [e.appId, e])));
    } catch {
      // The list still shows what it knows; the next refresh asks again.
    }
  }

  /**
   * The registry of `platform`: one read for the apps starting together (a new phone's, an account set) and the list,
   * not one each; a read older than {@link REGISTRY_SHARE_MS}, or one that failed, is not shared.
   */
  private readRegistry(transport: Transport, platform: Platform): Promise<RegistryEntry[]> {
    const last = this.registryRead;
    const now = this.runtime.now();
    if (last && platform === this.options.platform && now - last.at < REGISTRY_SHARE_MS) return last.entries;
    const entries = transport.registry(platform);
    if (platform === this.options.platform) {
      this.registryRead = { at: now, entries };
      entries.catch(() => {
        if (this.registryRead?.entries === entries) this.registryRead = undefined;
      });
    }
    return entries;
  }

  /** An app's transport whose registry reads go through {@link readRegistry}. */
  private sharingRegistry(transport: Transport): Transport {
    return new Proxy(transport, {
      get: (target, key) => {
        if (key === "registry") return (platform: Platform) => this.readRegistry(target, platform);
        const value: unknown = Reflect.get(target, key);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  }

  private list(catalog: Catalog, statuses: ReadonlyMap<string, ReplicationStatus>): BackedUpApp[] {
    const byId = new Map<string, CatalogEntry>(catalog.apps.map((a) => [a.appId, a]));
    const ids = [...new Set([...byId.keys(), ...statuses.keys()])].sort();
    return ids.map((appId) => {
      const entry = byId.get(appId);
      const status = statuses.get(appId);
      const name = this.apps.get(appId)?.name ?? this.registry.value.get(appId)?.name;
      const notices = noticesFor(this.registry.value.get(appId), this.apps.get(appId)?.appVersion);
      const base = {
        appId,
        ...(name ? { name } : {}),
        ...(notices.length > 0 ? { notices } : {}),
        onDevice: status !== undefined,
        ...(entry ? { lastBackupAt: entry.lastBackupAt } : {}),
        documents: entry?.documents ?? 0,
        bytes: entry?.bytes ?? 0,
        pending: status?.pending ?? 0,
        ...(status?.dropped ? { dropped: status.dropped } : {}),
        ...(status?.received ? { received: status.received } : {}),
      };
      if (!status) return { ...base, state: entry?.status === "retired" ? "retired" : "not-on-device" };
      const why = {
        ...(status.reason === undefined ? {} : { reason: status.reason }),
        ...(status.lastError === undefined ? {} : { lastError: status.lastError }),
      };
      const b = status.backup;
      if (b.kind === "denied") return { ...base, ...why, state: b.reason };
      if (entry?.status === "retired") return { ...base, ...why, state: "retired", reason: "retired" };
      if (b.kind === "held") return { ...base, ...why, state: "held" };
      if (status.state === "fatal") return { ...base, ...why, state: "failed" };
      if (status.state === "pulling" || status.state === "pushing")
        return { ...base, ...why, state: "syncing" };
      return { ...base, ...why, state: status.pending > 0 ? "pending" : "up-to-date" };
    });
  }

  private async saveSettings(next: DeviceSettings): Promise<void> {
    await this.options.store.setDeviceValue(SETTINGS_KEY, next);
    this.settingsSubject.next(next);
  }

  private requireAccount(): Transport {
    if (!this.deviceTransport) throw new HokanError("no-account", "set an account on the device first");
    return this.deviceTransport;
  }
}

/** A sync's result as a row of bulk backup's answer. */
function bulkResult(appId: string, r: SyncResult, now: number): BulkBackupResult {
  if (r.outcome === "synced") return { appId, outcome: "backed-up", acknowledged: true, pending: 0 };
  if (r.outcome === "held" && r.reason !== undefined)
    return { appId, outcome: "held", acknowledged: false, reason: r.reason, pending: r.pending };
  const error: StatusError =
    r.error ??
    (r.outcome === "timed-out"
      ? {
          code: "timeout",
          message: "the server did not answer in time",
          retryable: true,
          at: r.status.lastError?.at ?? 0,
        }
      : (r.status.lastError ?? {
          code: r.reason ?? "server",
          message: "the backup was not confirmed by the server",
          retryable: true,
          at: now,
        }));
  return {
    appId,
    outcome: "failed",
    acknowledged: false,
    error,
    ...(r.reason === undefined ? {} : { reason: r.reason }),
    pending: r.pending,
  };
}
