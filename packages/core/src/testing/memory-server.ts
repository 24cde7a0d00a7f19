import { filter, Observable, Subject } from "rxjs";
import { HokanError } from "../errors.js";
import type { LiveOptions, Transport } from "../ports.js";
import type {
  AppScope,
  Catalog,
  CatalogEntry,
  DeleteResult,
  LiveEvent,
  LiveHint,
  Platform,
  PullRequest,
  PullResponse,
  PushRequest,
  PushResponse,
  RegistryEntry,
  ServerDocument,
} from "../protocol.js";
import type { Runtime } from "../runtime.js";
import {
  checkPush,
  checkQuota,
  checkScope,
  DEFAULT_LIMITS,
  decidePush,
  liveDocuments,
  liveEventFor,
  pageLength,
  planBulkDelete,
  planPull,
  pushFingerprint,
  type ServerLimits,
  type SkippedApp,
  type StoredDocument,
  withoutDocuments,
} from "../server-rules.js";

interface AppState {
  epoch: number;
  seq: number;
  /** Each stored document (tombstones included) with the JSON size of its data, by `[collection, id]` JSON key. */
  readonly docs: Map<string, StoredDocument>;
  /** The sum of the documents' sizes: the quota and the catalog read it. */
  bytes: number;
  lastBackupAt: number;
  scope: AppScope;
  /** Idempotency key → fingerprint and answer; bounded (oldest forgotten first). */
  readonly answers: Map<string, { fingerprint: string; response: PushResponse }>;
}

/** Options of {@link MemoryServer}. */
export interface MemoryServerOptions {
  readonly registry: readonly RegistryEntry[];
  /** Server time (ms); the server's clock is right even when devices' are not. */
  readonly now: () => number;
  readonly limits?: Partial<ServerLimits>;
  /** Bytes per account and app (default unlimited). */
  readonly quotaBytes?: number;
  /** Idempotency answers kept per app (default 1000). */
  readonly rememberAnswers?: number;
  /**
   * Live channels open with `open` and send a `beat` every `heartbeatMs` on these timers, as the real server does.
   * Without it they carry hints only (and a simulation comes to rest between beats).
   */
  readonly heartbeat?: {
    readonly heartbeatMs: number;
    readonly timers: Pick<Runtime, "setTimeout" | "clearTimeout">;
  };
}

/** What a connection is allowed, as a token would say. */
export interface Credentials {
  readonly accountId: string;
  readonly entitled?: boolean;
  /** Apps this connection may touch (default all). */
  readonly apps?: readonly string[];
}

/**
 * The server as a model in memory: the same decision rules as the real server (they live in core), speaking the
 * {@link Transport} port to each connected device. Used by simulations and as the reference for `runTransportTests`.
 */
export class MemoryServer {
  private readonly accounts = new Map<string, Map<string, AppState>>();
  private readonly live = new Subject<{ accountId: string; event: LiveHint }>();
  /** Answers to deletes by account and request id, so a repeated request deletes nothing more. */
  private readonly deleteAnswers = new Map<string, DeleteResult>();
  private openLive = 0;
  private readonly limits: ServerLimits;
  registry: readonly RegistryEntry[];
  /** Every accepted change in order, for assertions about what reached the server and under which account. */
  readonly log: { accountId: string; appId: string; epoch: number; document: ServerDocument }[] = [];
  /** Every delete of an app's backup in order, with the server time it happened. */
  readonly deleteLog: { accountId: string; appId: string; epoch: number; at: number }[] = [];

  constructor(private readonly options: MemoryServerOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.registry = options.registry;
  }

  /** A transport for one device of an account. */
  connect(credentials: Credentials): Transport {
    return new MemoryConnection(this, credentials);
  }

  /** The stored documents of an app (tombstones included), for assertions. */
  documents(accountId: string, appId: string): ServerDocument[] {
    const docs = this.accounts.get(accountId)?.get(appId)?.docs.values() ?? [];
    return [...docs].map((s) => s.doc).sort((a, b) => a.seq - b.seq);
  }

  /** The app's current epoch (1 before any delete). */
  epochOf(accountId: string, appId: string): number {
    return this.accounts.get(accountId)?.get(appId)?.epoch ?? 1;
  }

  /** Every account that has stored anything. */
  accountIds(): string[] {
    return [...this.accounts.keys()];
  }

  /** @internal */
  entry(appId: string, platform: Platform): RegistryEntry | null {
    return this.registry.find((e) => e.appId === appId && e.platform === platform) ?? null;
  }

  /** @internal */
  handlePull(c: Credentials, request: PullRequest): PullResponse {
    this.authorize(c, request.scope, "restore");
    const app = this.app(c.accountId, request.scope);
    const limit = Math.min(request.limit, this.limits.maxPullLimit);
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw new HokanError("bad-request", "limit must be a positive integer");
    const plan = planPull(request.checkpoint, app.epoch, app.seq);
    if (plan instanceof HokanError) throw plan;
    const after = [...app.docs.values()]
      .filter((s) => s.doc.seq > plan.afterSeq)
      .sort((a, b) => a.doc.seq - b.doc.seq);
    const candidates = after.slice(0, limit + 1);
    const length = pageLength(
      candidates.map((s) => s.bytes),
      limit,
      this.limits.maxPullBytes,
    );
    const documents = candidates.slice(0, length).map((s) => s.doc);
    const last = documents.at(-1);
    return {
      epoch: app.epoch,
      reset: plan.reset,
      documents: structuredClone(documents),
      checkpoint: { epoch: app.epoch, seq: last?.seq ?? plan.afterSeq },
      more: after.length > documents.length,
      serverTime: this.options.now(),
    };
  }

  /** @internal */
  handlePush(c: Credentials, request: PushRequest): PushResponse {
    this.authorize(c, request.scope, request.bulk === true ? "bulkBackup" : "backup");
    const invalid = checkPush(request, this.limits);
    if (invalid) throw invalid;
    const app = this.app(c.accountId, request.scope);
    const fingerprint = pushFingerprint(request.changes);
    const known = app.answers.get(request.idempotencyKey);
    if (known) {
      if (known.fingerprint !== fingerprint) {
        throw new HokanError("idempotency-mismatch", "this idempotency key was used for another push");
      }
      return structuredClone(known.response);
    }
    // Decide the whole batch, check the quota on the outcome, then keep it: one push, one transaction. Only the
    // documents the batch names are looked at, as the real server reads only those.
    const now = this.options.now();
    const stored = new Map<string, StoredDocument>();
    for (const change of request.changes) {
      const k = JSON.stringify([change.collection, change.id]);
      const found = app.docs.get(k);
      if (found) stored.set(k, found);
    }
    const outcome = decidePush({
      changes: request.changes,
      current: stored,
      epoch: app.epoch,
      seq: app.seq,
      now,
      limits: this.limits,
    });
    const { results, seq } = outcome;
    const overQuota = checkQuota(request.scope.appId, app.bytes, outcome, this.options.quotaBytes);
    if (overQuota) throw overQuota;
    const response: PushResponse = { epoch: app.epoch, serverTime: now, results };
    const written = new Map<number, ServerDocument>();
    for (const { bytes, json: _json, ...doc } of outcome.writes) {
      const k = JSON.stringify([doc.collection, doc.id]);
      app.docs.set(k, { doc, bytes });
      written.set(doc.seq, doc);
    }
    app.bytes += outcome.bytesDelta;
    for (const r of results) {
      if (r.status !== "accepted" || r.seq <= app.seq) continue;
      const document = written.get(r.seq);
      if (document)
        this.log.push({ accountId: c.accountId, appId: request.scope.appId, epoch: app.epoch, document });
    }
    if (seq !== app.seq) {
      const after = app.seq;
      app.seq = seq;
      app.lastBackupAt = now;
      app.scope = request.scope;
      const documents = liveDocuments(outcome.writes);
      this.live.next({
        accountId: c.accountId,
        event: {
          type: "changed",
          appId: request.scope.appId,
          epoch: app.epoch,
          seq,
          ...(documents ? { after, documents: structuredClone(documents) } : {}),
        },
      });
    }
    app.answers.set(request.idempotencyKey, { fingerprint, response: structuredClone(response) });
    const max = this.options.rememberAnswers ?? 1000;
    for (const k of app.answers.keys()) {
      if (app.answers.size <= max) break;
      app.answers.delete(k);
    }
    return response;
  }

  /** @internal */
  handleCatalog(c: Credentials): Catalog {
    const apps: CatalogEntry[] = [];
    const now = this.options.now();
    for (const [appId, app] of this.accounts.get(c.accountId) ?? []) {
      if (c.apps && !c.apps.includes(appId)) continue;
      const live = [...app.docs.values()].filter((s) => s.doc.data !== null);
      if (live.length === 0) continue;
      const entry = this.entry(appId, app.scope.platform);
      const retired = entry?.retiredAt !== undefined && Date.parse(entry.retiredAt) <= now;
      apps.push({
        appId,
        epoch: app.epoch,
        lastBackupAt: app.lastBackupAt,
        documents: live.length,
        bytes: app.bytes,
        appVersion: app.scope.appVersion,
        platform: app.scope.platform,
        schemaVersion: app.scope.schemaVersion ?? 1,
        status: retired ? "retired" : "active",
      });
    }
    return { apps: apps.sort((a, b) => (a.appId < b.appId ? -1 : 1)) };
  }

  /** @internal */
  handleDelete(
    c: Credentials,
    appIds: readonly string[] | "all",
    requestId: string,
    platform?: Platform,
  ): DeleteResult {
    if (c.entitled === false) throw new HokanError("not-entitled", "the account is not entitled to backup");
    if (typeof requestId !== "string" || !/^[\w-]{8,128}$/.test(requestId)) {
      throw new HokanError(
        "bad-request",
        "a delete needs a request id of 8 to 128 letters, digits, '_' or '-'",
      );
    }
    const answered = this.deleteAnswers.get(`${c.accountId}\u0000${requestId}`);
    if (answered) return structuredClone(answered);
    const apps = this.accounts.get(c.accountId) ?? new Map<string, AppState>();
    let targets: readonly string[] = appIds === "all" ? [] : appIds;
    let skipped: SkippedApp[] = [];
    if (appIds === "all") {
      const bulk = planBulkDelete(
        [...apps].flatMap(([appId, app]) =>
          !c.apps || c.apps.includes(appId) ? [{ appId, platform: app.scope.platform }] : [],
        ),
        (appId, on) => this.entry(appId, on),
        platform,
        this.options.now(),
      );
      targets = bulk.take;
      skipped = bulk.skipped;
    }
    const out: { appId: string; epoch: number }[] = [];
    for (const appId of targets) {
      const app = apps.get(appId);
      if (!app) continue;
      app.epoch += 1;
      app.docs.clear();
      app.bytes = 0;
      app.answers.clear();
      out.push({ appId, epoch: app.epoch });
      this.deleteLog.push({ accountId: c.accountId, appId, epoch: app.epoch, at: this.options.now() });
      this.live.next({ accountId: c.accountId, event: { type: "deleted", appId, epoch: app.epoch } });
    }
    const result: DeleteResult = { apps: out, ...(skipped.length > 0 ? { skipped } : {}) };
    this.deleteAnswers.set(`${c.accountId}\u0000${requestId}`, structuredClone(result));
    for (const k of this.deleteAnswers.keys()) {
      if (this.deleteAnswers.size <= (this.options.rememberAnswers ?? 1000)) break;
      this.deleteAnswers.delete(k);
    }
    return result;
  }

  /** Live channels open now (a check that clients close what they open). */
  get liveSubscribers(): number {
    return this.openLive;
  }

  /** @internal */
  liveFor(c: Credentials, apps: readonly AppScope[], options: LiveOptions = {}): Observable<LiveEvent> {
    const scopes = new Map(apps.map((a) => [a.appId, a]));
    const catalog = options.catalog === true;
    return new Observable<LiveEvent>((subscriber) => {
      if (apps.length === 0 && !catalog) {
        subscriber.error(new HokanError("bad-request", "name at least one app, or ask for the catalog"));
        return;
      }
      this.openLive++;
      subscriber.add(() => {
        this.openLive--;
      });
      const heartbeat = this.options.heartbeat;
      if (heartbeat) {
        subscriber.next({ type: "open", heartbeatMs: heartbeat.heartbeatMs });
        let timer: unknown;
        const beat = () => {
          timer = heartbeat.timers.setTimeout(() => {
            subscriber.next({ type: "beat" });
            beat();
          }, heartbeat.heartbeatMs);
        };
        beat();
        subscriber.add(() => heartbeat.timers.clearTimeout(timer));
      }
      const sub = this.live
        .pipe(
          filter(
            (m) =>
              m.accountId === c.accountId &&
              (scopes.has(m.event.appId) || (catalog && (!c.apps || c.apps.includes(m.event.appId)))),
          ),
        )
        .subscribe((m) => {
          const scope = scopes.get(m.event.appId);
          if (!scope) {
            subscriber.next(withoutDocuments(m.event));
            return;
          }
          const entry = this.entry(scope.appId, scope.platform);
          subscriber.next(liveEventFor(m.event, scope, entry, this.options.now()));
        });
      return () => sub.unsubscribe();
    });
  }

  private authorize(c: Credentials, scope: AppScope, op: "backup" | "bulkBackup" | "restore"): void {
    if (c.entitled === false) throw new HokanError("not-entitled", "the account is not entitled to backup");
    if (c.apps && !c.apps.includes(scope.appId)) {
      throw new HokanError("forbidden", `this token does not allow ${scope.appId}`);
    }
    const refusal = checkScope(this.entry(scope.appId, scope.platform), scope, op, this.options.now());
    if (refusal) throw refusal;
  }

  private app(accountId: string, scope: AppScope): AppState {
    let apps = this.accounts.get(accountId);
    if (!apps) {
      apps = new Map();
      this.accounts.set(accountId, apps);
    }
    let app = apps.get(scope.appId);
    if (!app) {
      app = {
        epoch: 1,
        seq: 0,
        docs: new Map(),
        bytes: 0,
        lastBackupAt: 0,
        scope,
        answers: new Map(),
      };
      apps.set(scope.appId, app);
    }
    return app;
  }
}

/** One device's connection: every call is answered asynchronously, as over a network. */
class MemoryConnection implements Transport {
  constructor(
    private readonly server: MemoryServer,
    private readonly credentials: Credentials,
  ) {}

  pull(request: PullRequest): Promise<PullResponse> {
    return answer(() => this.server.handlePull(this.credentials, structuredClone(request)));
  }
  push(request: PushRequest): Promise<PushResponse> {
    return answer(() => this.server.handlePush(this.credentials, structuredClone(request)));
  }
  live(apps: readonly AppScope[], options?: LiveOptions): Observable<LiveEvent> {
    return this.server.liveFor(this.credentials, apps, options);
  }
  catalog(): Promise<Catalog> {
    return answer(() => this.server.handleCatalog(this.credentials));
  }
  probe(): Promise<void> {
    return answer(() => undefined);
  }
  registry(platform: Platform): Promise<RegistryEntry[]> {
    return answer(() => structuredClone(this.server.registry.filter((e) => e.platform === platform)));
  }
  deleteApp(scope: AppScope, requestId: string): Promise<DeleteResult> {
    return answer(() => this.server.handleDelete(this.credentials, [scope.appId], requestId));
  }
  deleteAll(requestId: string, platform?: Platform): Promise<DeleteResult> {
    return answer(() => this.server.handleDelete(this.credentials, "all", requestId, platform));
  }
}

async function answer<T>(fn: () => T): Promise<T> {
  await Promise.resolve();
  return fn();
}
