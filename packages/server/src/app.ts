import { createServer as createHttpServer } from "node:http";
import { createGunzip } from "node:zlib";
import {
  type AppScope,
  checkScope,
  DEFAULT_LIMITS,
  findUnstorableString,
  HokanError,
  isVersion,
  LIVE_HEARTBEAT_MS,
  type LiveEvent,
  liveEventFor,
  MAX_SCHEMA_VERSION,
  PLATFORMS,
  type Platform,
  type PolicyWarning,
  PROTOCOL_VERSION,
  planBulkDelete,
  registryRefusal,
  type ServerLimits,
} from "@hokan/core";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { type Principal, signDevelopmentToken } from "./auth.js";
import { BackupStore } from "./backup-store.js";
import { dropOldest } from "./bounded.js";
import { type LiveBus, postgresBus } from "./bus.js";
import { addCors, type CorsOptions } from "./cors.js";
import type { Database } from "./database.js";
import { LiveHub } from "./live-hub.js";
import { CURSOR, longPoll, parseWait } from "./live-poll.js";
import { ServerMetrics } from "./metrics.js";
import { answerClientError, toHokanError, toProblem } from "./problem.js";
import type { Registry } from "./registry.js";

/** The largest refused body whose rest is read and dropped, so that its client reads the 413 (larger: cut). */
const DRAIN_REFUSED_BODY_BYTES = 64 * 2 ** 20;
/** How long `/v1/ready` waits for the database before it answers not ready. */
const READY_DATABASE_MS = 2_000;
/** An app id as the server takes it: reverse-DNS letters, digits, `.`, `_` and `-`. */
const APP_ID = /^[\w.-]{1,200}$/;
/** A JSON escape of U+0000 or of a surrogate: a body holding one is checked for strings no database can keep. */
const SUSPECT_ESCAPE = /\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})/;

/** Options of {@link buildServer}. */
export interface ServerOptions {
  readonly db: Database;
  readonly registry: Registry;
  readonly verify: (token: string) => Promise<Principal>;
  readonly limits?: Partial<ServerLimits>;
  /** Bytes one account may keep per app. */
  readonly quotaBytes?: number;
  /** Largest request body, bytes (default 8 MiB). */
  readonly bodyLimit?: number;
  /** Requests per second per token, with bursts up to `burst` (default 50/s, 200). */
  readonly rateLimit?: { readonly perSecond: number; readonly burst: number };
  /** Server time (ms), injectable for tests of dates. */
  readonly now?: () => number;
  readonly logger?: boolean | object;
  /** Heartbeat on live connections, ms (default `LIVE_HEARTBEAT_MS`, 15 s), announced in each channel's `open`. */
  readonly liveHeartbeatMs?: number;
  /** How long a push's answer is kept for retries under its idempotency key (default 7 days). */
  readonly answerTtlMs?: number;
  /** Live channels one account may hold open on this process (default 100); one more is `rate-limited`. */
  readonly maxLiveChannelsPerAccount?: number;
  /**
   * How long a client may take to send a whole request, headers and body (default 30 s): a client that trickles or
   * stalls its body gets 408 and the connection is closed, instead of holding it forever.
   */
  readonly requestTimeoutMs?: number;
  /**
   * Development only: `POST /v1/dev/token { account }` signs HS256 tokens with this secret. Never set in production;
   * the CLI and the demo enable it only when told to.
   */
  readonly devTokenSecret?: string;
  /** Web origins whose pages may call the server (CORS); without it, only pages of the server's own origin. */
  readonly cors?: CorsOptions;
  /**
   * How the fleet's processes tell each other of changes (default: PostgreSQL `LISTEN`/`NOTIFY` on `db`); the server
   * closes it. `natsBus(url)` routes by account.
   */
  readonly bus?: LiveBus;
  /** Also the process's own metrics (CPU, memory, event loop): for a server that is the process (the CLI). */
  readonly processMetrics?: boolean;
}

/** The Fastify app, its live connections and its metrics. */
export interface HokanServer {
  readonly app: FastifyInstance;
  readonly hub: LiveHub;
  /** Prometheus metrics of this server (`serveMetrics` serves them; the CLI's `--metrics-port`). */
  readonly metrics: ServerMetrics;
  /**
   * Stops the server for a deploy: `/v1/ready` answers 503 from now on, no new connection is accepted, every live
   * channel ends with `reconnect`, and requests in flight may finish for `deadlineMs`; after that their connections are
   * cut. Resolves when the server is closed, with how long it took and how many requests were cut.
   */
  drain(deadlineMs: number): Promise<{ readonly elapsedMs: number; readonly cut: number }>;
}

declare module "fastify" {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** The backup server: Fastify routes of docs/PROTOCOL.md over a {@link BackupStore}. */
export async function buildServer(options: ServerOptions): Promise<HokanServer> {
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const now = options.now ?? Date.now;
  // Read when scraped; the hub is made below.
  const metrics: ServerMetrics = new ServerMetrics(
    { liveChannels: () => hub.connections, ...(options.db.pool ? { pool: options.db.pool } : {}) },
    { process: options.processMetrics === true },
  );
  const bus = options.bus ?? postgresBus(options.db);
  const store = new BackupStore(options.db, {
    limits,
    now,
    ...(bus.inTransaction
      ? {}
      : { publish: (account: string, payload: string) => bus.publish(account, payload) }),
    onPulled: (n) => metrics.documents.inc({ direction: "pulled" }, n),
    ...(options.answerTtlMs === undefined ? {} : { answerTtlMs: options.answerTtlMs }),
    ...(options.quotaBytes === undefined ? {} : { quotaBytes: options.quotaBytes }),
  });
  const hub = new LiveHub(
    (event, scope) =>
      liveEventFor(event, scope, scope && options.registry.entry(scope.appId, scope.platform), now()),
    (seconds) => metrics.busLag.observe(seconds),
  );
  await hub.start(bus);
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? 8 * 2 ** 20,
    // A client must send its whole request in time; Node checks at `connectionsCheckingInterval`, so that is kept
    // well under the timeout (its default, 30 s, would let a stalled body live twice as long).
    serverFactory: (handler) => {
      const timeout = options.requestTimeoutMs ?? 30_000;
      return createHttpServer(
        {
          requestTimeout: timeout,
          headersTimeout: Math.min(timeout, 60_000),
          connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(timeout / 4))),
        },
        handler,
      );
    },
    // Long path parameters reach the routes, which refuse them with a problem document, not the router's bare 414
    // (Node refuses a request line longer than its 16 KiB header limit before any of this).
    routerOptions: { maxParamLength: 16 * 1024 },
    clientErrorHandler: answerClientError,
  });
  // JSON bodies as Fastify parses them (prototype poisoning refused), and then no string that cannot be stored: a NUL
  // or a lone surrogate is a 400 naming where it is, never a database error answered with a retryable 500. Only a
  // body whose text holds such an escape is walked.
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    const text = String(body);
    void parseJson(request, text, (error: Error | null, value?: unknown) => {
      if (error) return done(error);
      const where = SUSPECT_ESCAPE.test(text) ? findUnstorableString(value) : undefined;
      if (where) {
        return done(
          new HokanError(
            "bad-request",
            `${where} holds U+0000 or a lone surrogate: text must be well-formed Unicode without NUL`,
          ),
        );
      }
      done(null, value);
    });
  });
  /** The server is stopping: live channels end, and their connections with them. */
  let closing = false;
  const limiter = new RateLimiter(options.rateLimit ?? { perSecond: 50, burst: 200 });

  app.setErrorHandler((error, request, reply) => {
    const e = toHokanError(error);
    // Fastify closes the connection after refusing a body for its declared length, while the client may still be
    // sending it: the client then fails to write (EPIPE) and never reads the 413, and a sync engine would retry a push
    // that can never pass. The rest of a body of sane size is read and dropped instead (Node does so once the answer is
    // sent), so the client reads its answer; past that size the connection is still cut.
    if (
      (error as { code?: string }).code === "FST_ERR_CTP_BODY_TOO_LARGE" &&
      Number(request.headers["content-length"]) <= DRAIN_REFUSED_BODY_BYTES
    )
      reply.removeHeader("connection");
    if (e.code === "server") request.log.error({ err: error }, "request failed");
    const retryAfterMs = Number(e.details?.retryAfterMs);
    if (Number.isFinite(retryAfterMs) && retryAfterMs > 0)
      void reply.header("retry-after", String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
    void reply.status(e.status).type("application/problem+json").send(toProblem(e));
  });
  app.setNotFoundHandler((request, reply) => {
    const e = new HokanError("not-found", `no route ${request.method} ${request.url.split("?")[0]}`);
    void reply.status(404).type("application/problem+json").send(toProblem(e));
  });

  // Before authentication: a browser's preflight carries no token.
  if (options.cors) await addCors(app, options.cors);

  // Gzipped bodies (large pushes from mobile clients): inflated before parsing, and the body limit applies to what
  // comes out, so a small bomb cannot become a large body.
  app.addHook("preParsing", async (request, _reply, payload) => {
    const encoding = request.headers["content-encoding"];
    if (encoding === undefined || encoding === "identity") return payload;
    if (encoding !== "gzip")
      throw new HokanError("bad-request", `content-encoding ${encoding} is not supported; use gzip`);
    delete request.headers["content-length"];
    return payload.pipe(createGunzip());
  });

  // Requests between their arrival and their answer (a stream until it is hijacked): what a drain waits for. First of
  // the hooks, so that a request refused by the next is counted too; the metrics' onResponse hook takes it out.
  const inFlight = new Set<FastifyRequest>();
  app.addHook("onRequest", async (request) => {
    inFlight.add(request);
  });
  app.addHook("onRequestAbort", async (request) => {
    inFlight.delete(request);
  });

  app.addHook("onRequest", async (request) => {
    if (
      request.url === "/v1/health" ||
      request.url === "/v1/ready" ||
      (options.devTokenSecret && request.url === "/v1/dev/token")
    )
      return;
    const version = request.headers["hokan-protocol"];
    if (version !== undefined && String(version).split(".")[0] !== String(PROTOCOL_VERSION)) {
      throw new HokanError(
        "protocol",
        `this server speaks protocol ${PROTOCOL_VERSION}, not ${String(version)}`,
      );
    }
    const header = request.headers.authorization;
    const token = header?.startsWith("Bearer ") ? header.slice(7).trim() : undefined;
    if (!token) throw new HokanError("unauthorized", "send a bearer token in the Authorization header");
    // Limits are kept per verified account; tokens that fail verification are limited per client address, so
    // neither a token with a byte changed nor a stream of garbage gets a fresh bucket (or resets everyone's).
    const failedFrom = `address:${request.ip}`;
    limited("address", () => limiter.refuseIfEmpty(failedFrom, now()));
    try {
      request.principal = await options.verify(token);
    } catch (error) {
      limited("address", () => limiter.take(failedFrom, now()));
      throw error;
    }
    const account = request.principal.account;
    limited("account", () => limiter.take(`account:${account}`, now()));
  });
  /** Runs a rate check, counting its refusals. */
  const limited = (by: "account" | "address" | "live-channels", check: () => void): void => {
    try {
      check();
    } catch (error) {
      metrics.rateLimited.inc({ by });
      throw error;
    }
  };
  // Answered: out of the drain's count, into the metrics.
  app.addHook("onResponse", async (request, reply) => {
    inFlight.delete(request);
    const route = request.routeOptions.url ?? "unmatched";
    metrics.requests.inc({ route, method: request.method, code: String(reply.statusCode) });
    // A long poll's answer waits by design: its time would say nothing of the server's.
    if (route !== "/v1/live") metrics.duration.observe({ route }, reply.elapsedTime / 1000);
  });

  const principal = (r: FastifyRequest): Principal => {
    if (!r.principal) throw new HokanError("unauthorized", "not signed in");
    if (!r.principal.entitled)
      throw new HokanError("not-entitled", "the account's contract does not include backup");
    return r.principal;
  };
  /** The app id of a route's path, refused unless it is one. */
  const pathAppId = (r: FastifyRequest): string => {
    const appId = (r.params as { appId: string }).appId;
    if (!APP_ID.test(appId))
      throw new HokanError("bad-request", "the app id in the path is not a reverse-DNS id");
    return appId;
  };
  const scopeOf = (r: FastifyRequest, p: Principal): AppScope => {
    const appId = pathAppId(r);
    const body = (r.body ?? {}) as { scope?: Partial<AppScope> };
    const s = body.scope;
    if (!s || typeof s !== "object")
      throw new HokanError("bad-request", "the body needs a scope { appVersion, platform }");
    if (s.appId !== undefined && s.appId !== appId)
      throw new HokanError("bad-request", "scope.appId differs from the path");
    if (typeof s.appVersion !== "string" || !isVersion(s.appVersion)) {
      throw new HokanError("bad-request", "scope.appVersion must be a dotted version like 3.2.0");
    }
    if (!PLATFORMS.includes(s.platform as Platform))
      throw new HokanError("bad-request", `scope.platform must be one of ${PLATFORMS.join(", ")}`);
    if (p.apps && !p.apps.includes(appId))
      throw new HokanError("forbidden", `this token does not allow ${appId}`);
    const schemaVersion = s.schemaVersion;
    if (
      schemaVersion !== undefined &&
      (!Number.isSafeInteger(schemaVersion) || schemaVersion < 1 || schemaVersion > MAX_SCHEMA_VERSION)
    ) {
      throw new HokanError(
        "bad-request",
        `scope.schemaVersion must be an integer from 1 to ${MAX_SCHEMA_VERSION}`,
      );
    }
    return {
      appId,
      appVersion: s.appVersion,
      platform: s.platform as Platform,
      ...(schemaVersion ? { schemaVersion } : {}),
    };
  };
  /** Refuses what the registry refuses; says what it warns of in a `hokan-warning` header. */
  const allow = (scope: AppScope, op: "backup" | "bulkBackup" | "restore", reply: FastifyReply): void => {
    const entry = options.registry.entry(scope.appId, scope.platform);
    const refusal = checkScope(entry, scope, op, now());
    if (refusal) throw refusal;
    const warnings: PolicyWarning[] = [];
    if (entry) registryRefusal(entry, scope, op === "restore" ? "restore" : "backup", now(), warnings);
    if (warnings.length > 0) void reply.header("hokan-warning", warnings.join(", "));
  };
  const device = (p: Principal): void => {
    if (!p.device) throw new HokanError("forbidden", "this needs the device's token (the settings screen's)");
  };

  // Liveness: the process answers. Readiness (below): it should be sent traffic.
  app.get("/v1/health", async () => ({ ok: true, protocol: PROTOCOL_VERSION, database: options.db.kind }));
  app.get("/v1/ready", async (_request, reply) => {
    if (closing) return reply.status(503).send({ ready: false, reason: "stopping" });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), READY_DATABASE_MS);
    });
    const answered = await Promise.race([
      options.db.query("SELECT 1").then(
        () => "ok" as const,
        () => "failed" as const,
      ),
      late,
    ]).finally(() => clearTimeout(timer));
    if (answered !== "ok") return reply.status(503).send({ ready: false, reason: "database" });
    return { ready: true };
  });

  const devSecret = options.devTokenSecret;
  if (devSecret) {
    app.post("/v1/dev/token", async (request) => {
      const account = (request.body as { account?: unknown } | undefined)?.account;
      if (typeof account !== "string" || !/^[\w.@-]{1,64}$/.test(account)) {
        throw new HokanError(
          "bad-request",
          "name an account of 1 to 64 letters, digits, '.', '@', '_' or '-'",
        );
      }
      return { token: await signDevelopmentToken(devSecret, { account, expiresIn: "12h" }) };
    });
  }

  app.get("/v1/registry", async (request) => {
    principal(request);
    const platform = (request.query as { platform?: string }).platform;
    if (!PLATFORMS.includes(platform as Platform))
      throw new HokanError("bad-request", `platform must be one of ${PLATFORMS.join(", ")}`);
    return { apps: options.registry.forPlatform(platform as Platform) };
  });

  app.post("/v1/apps/:appId/pull", async (request, reply) => {
    const p = principal(request);
    const scope = scopeOf(request, p);
    allow(scope, "restore", reply);
    const body = request.body as { checkpoint?: unknown; limit?: unknown };
    const checkpoint = body.checkpoint as { epoch: number; seq: number } | undefined;
    if (!checkpoint || typeof checkpoint !== "object")
      throw new HokanError("bad-request", "the body needs a checkpoint { epoch, seq }");
    if (body.limit !== undefined && !Number.isSafeInteger(body.limit))
      throw new HokanError("bad-request", "limit must be a whole number of documents");
    const limit = body.limit === undefined ? 500 : (body.limit as number);
    const page = await store.pullJson(p.account, { scope, checkpoint, limit });
    metrics.bytes.inc({ direction: "pulled" }, page.length);
    return reply.type("application/json; charset=utf-8").send(page);
  });

  app.post("/v1/apps/:appId/push", async (request, reply) => {
    const p = principal(request);
    const scope = scopeOf(request, p);
    const body = request.body as { idempotencyKey?: unknown; changes?: unknown; bulk?: unknown };
    if (body.bulk !== undefined && typeof body.bulk !== "boolean")
      throw new HokanError("bad-request", "bulk must be true or false");
    allow(scope, body.bulk === true ? "bulkBackup" : "backup", reply);
    const answer = await store.push(p.account, {
      scope,
      idempotencyKey: body.idempotencyKey as string,
      changes: body.changes as never,
    });
    metrics.documents.inc(
      { direction: "pushed" },
      answer.results.filter((r) => r.status === "accepted").length,
    );
    const received = Number(request.headers["content-length"]);
    if (Number.isFinite(received)) metrics.bytes.inc({ direction: "pushed" }, received);
    return answer;
  });

  app.get("/v1/catalog", async (request) => {
    const p = principal(request);
    device(p);
    return store.catalog(p.account, (appId, platform) => options.registry.entry(appId, platform), p.apps);
  });

  app.delete("/v1/apps/:appId", async (request) => {
    const p = principal(request);
    const appId = pathAppId(request);
    if (p.apps && !p.apps.includes(appId))
      throw new HokanError("forbidden", `this token does not allow ${appId}`);
    const requestId = ((request.body ?? {}) as { requestId?: string }).requestId as string;
    return store.delete(p.account, [appId], requestId);
  });

  app.post("/v1/bulk-delete", async (request) => {
    const p = principal(request);
    device(p);
    const body = (request.body ?? {}) as { requestId?: string; platform?: unknown };
    if (body.platform !== undefined && !PLATFORMS.includes(body.platform as Platform))
      throw new HokanError("bad-request", `platform must be one of ${PLATFORMS.join(", ")}`);
    // Only the apps the registry offers bulk delete for (on the device's platform, else each app's own), and of those
    // only the ones the token may touch: a token limited to some apps (hokan_apps) never sees the others.
    const bulk = (apps: readonly { appId: string; platform: Platform }[]) =>
      planBulkDelete(
        p.apps ? apps.filter((a) => p.apps?.includes(a.appId)) : apps,
        (appId, platform) => options.registry.entry(appId, platform),
        body.platform as Platform | undefined,
        now(),
      );
    return store.delete(p.account, "all", body.requestId as string, bulk);
  });

  app.get("/v1/live", async (request, reply) => {
    const p = principal(request);
    const query = request.query as {
      apps?: unknown;
      scope?: unknown;
      catalog?: unknown;
      wait?: unknown;
      cursor?: unknown;
    };
    const catalog = query.catalog === "1" || query.catalog === "true";
    // The catalog's hints (every app of the account) are the settings screen's, as the catalog is.
    if (catalog) device(p);
    const apps = liveApps(query, catalog);
    const forbidden = p.apps ? [...apps.keys()].find((a) => !p.apps?.includes(a)) : undefined;
    if (forbidden) throw new HokanError("forbidden", `this token does not allow ${forbidden}`);
    const most = options.maxLiveChannelsPerAccount ?? 100;
    if (hub.connectionsOf(p.account) >= most) {
      metrics.rateLimited.inc({ by: "live-channels" });
      throw new HokanError("rate-limited", `this account holds ${most} live channels already`, {
        details: { retryAfterMs: 30_000 },
      });
    }
    const heartbeatMs = options.liveHeartbeatMs ?? LIVE_HEARTBEAT_MS;
    const waitMs = parseWait(query.wait);
    if (waitMs !== undefined) {
      if (query.cursor !== undefined && (typeof query.cursor !== "string" || !CURSOR.test(query.cursor)))
        throw new HokanError("bad-request", "cursor must be the one the last answer gave");
      const gone = new Promise<void>((resolve) => request.raw.once("close", () => resolve()));
      const answer = await longPoll(
        hub,
        (account) => store.heads(account),
        {
          account: p.account,
          apps,
          catalog: catalog ? (p.apps ?? true) : false,
          waitMs,
          cursor: query.cursor as string | undefined,
          // A client hears from a poll at least once per wait; announced as its heartbeat.
          heartbeatMs: Math.max(waitMs, 100),
          gone,
        },
        (account, appId, after, head) => store.hintDocuments(account, appId, after, head),
      );
      // Answered because the server is stopping: the connection goes too, not kept alive for a next poll.
      if (closing) void reply.header("connection", "close");
      return answer;
    }
    reply.hijack();
    inFlight.delete(request);
    // A stream is answered outside Fastify's reply: counted here, when it opens.
    metrics.requests.inc({ route: "/v1/live", method: "GET", code: "200" });
    const res = reply.raw;
    // Headers set on the reply so far (CORS) go out with the stream, which is written raw.
    res.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      "content-type": "text/event-stream",
      "cache-control": "no-store",
      connection: "keep-alive",
    });
    // The client learns the channel is accepted now, while `open` may wait for the bus.
    res.flushHeaders();
    const write = (event: LiveEvent) => {
      if (!res.writableEnded) res.write(`data: ${JSON.stringify(event)}\n\n`);
    };
    // Hints that arrive before `open` is sent wait for it: `open` comes first.
    let early: LiveEvent[] | undefined = [];
    const send = (event: LiveEvent) => (early ? early.push(event) : write(event));
    // Ended by the server (it stops, or its notices were lost): the client is told to open its channel again at once.
    // Said at once even before `open` (the server stopped while the channel waited for its bus).
    const end = () => {
      early = undefined;
      write({ type: "reconnect" });
      res.end();
    };
    const remove = hub.add(p.account, apps, send, end, catalog ? (p.apps ?? true) : false);
    let beat: ReturnType<typeof setInterval> | undefined;
    let gone = false;
    request.raw.on("close", () => {
      gone = true;
      clearInterval(beat);
      remove();
    });
    // Once the account's notices reach this process (a bus that routes by account subscribes first), the channel
    // opens: a change the client's catch-up pull does not see is hinted.
    await hub.ready(p.account);
    // The client left, or the server ended the channel, while it waited: no heartbeat may outlive it.
    if (gone || res.writableEnded || early === undefined) return;
    // The interval is announced, so a client knows when silence means a dead connection.
    write({ type: "open", heartbeatMs });
    for (const event of early) write(event);
    early = undefined;
    beat = setInterval(() => send({ type: "beat" }), heartbeatMs);
  });

  // Live channels end before the server waits for its connections to close: each client reconnects (to another
  // process of the fleet) and catches up, instead of the shutdown waiting for them.
  app.addHook("preClose", async () => {
    closing = true;
    hub.endAll();
  });
  app.addHook("onClose", async () => {
    await hub.close();
  });
  const drain = async (deadlineMs: number) => {
    const started = performance.now();
    closing = true;
    let cut = 0;
    const deadline = setTimeout(() => {
      cut = inFlight.size;
      app.server.closeAllConnections();
    }, deadlineMs);
    try {
      await app.close();
    } finally {
      clearTimeout(deadline);
    }
    return { elapsedMs: performance.now() - started, cut };
  };
  return { app, hub, metrics, drain };
}

/**
 * The apps a live connection asks for: `scope=appId,platform,appVersion` once per app, or (older clients) a list
 * `apps=a,b` without scopes, whose hints then carry no documents.
 */
function liveApps(
  query: { apps?: unknown; scope?: unknown },
  catalog: boolean,
): Map<string, AppScope | undefined> {
  const apps = new Map<string, AppScope | undefined>();
  const listed = typeof query.apps === "string" ? query.apps.split(",").filter(Boolean) : [];
  for (const appId of listed) apps.set(appId, undefined);
  const scopes = query.scope === undefined ? [] : [query.scope].flat();
  for (const text of scopes) {
    const [appId, platform, appVersion, ...rest] = typeof text === "string" ? text.split(",") : [];
    if (
      appId === undefined ||
      !APP_ID.test(appId) ||
      !PLATFORMS.includes(platform as Platform) ||
      appVersion === undefined ||
      !isVersion(appVersion) ||
      rest.length > 0
    ) {
      throw new HokanError(
        "bad-request",
        `scope=${String(text)} is not appId,platform,appVersion (like jp.example.mail,android,3.2.0)`,
      );
    }
    apps.set(appId, { appId, platform: platform as Platform, appVersion });
  }
  if ((apps.size === 0 && !catalog) || apps.size > 100)
    throw new HokanError(
      "bad-request",
      "name 1 to 100 apps: ?scope=appId,platform,appVersion for each (or ask for catalog=1)",
    );
  return apps;
}

/** Buckets kept at most; past it the longest-unused go first (never everyone's at once). */
const MAX_BUCKETS = 100_000;

/**
 * Token buckets by key (an account, a client address): `burst` requests at once, refilled at `perSecond`. The map's
 * order is least recently used first, and past {@link MAX_BUCKETS} the oldest tenth goes.
 */
class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly rate: { readonly perSecond: number; readonly burst: number }) {}

  /** Takes one request from `key`'s bucket, or refuses with `rate-limited` and when to try again. */
  take(key: string, now: number): void {
    const b = this.refilled(key, now);
    if (b.tokens < 1) throw this.limited(b);
    b.tokens -= 1;
    // Re-inserted, so the map's order is least recently used first.
    this.buckets.delete(key);
    this.buckets.set(key, b);
    dropOldest(this.buckets, MAX_BUCKETS);
  }

  /** Refuses without taking anything when `key`'s bucket is empty (a client address whose tokens keep failing). */
  refuseIfEmpty(key: string, now: number): void {
    if (!this.buckets.has(key)) return;
    const b = this.refilled(key, now);
    if (b.tokens < 1) throw this.limited(b);
  }

  private refilled(key: string, now: number): { tokens: number; at: number } {
    const b = this.buckets.get(key) ?? { tokens: this.rate.burst, at: now };
    b.tokens = Math.min(this.rate.burst, b.tokens + ((now - b.at) / 1000) * this.rate.perSecond);
    b.at = now;
    this.buckets.set(key, b);
    return b;
  }

  private limited(b: { tokens: number }): HokanError {
    // When the bucket holds a whole request again, in seconds (Retry-After's unit), never 0.
    const retryAfterMs = Math.ceil(((1 - b.tokens) / this.rate.perSecond) * 1000);
    return new HokanError("rate-limited", `over ${this.rate.perSecond} requests per second`, {
      details: { retryAfterMs },
    });
  }
}
