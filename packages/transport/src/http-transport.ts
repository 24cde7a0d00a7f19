import {
  type AppScope,
  type Catalog,
  type DeleteResult,
  HokanError,
  type LiveEvent,
  type LiveOptions,
  type Platform,
  type PullRequest,
  type PullResponse,
  type PushRequest,
  type PushResponse,
  type RegistryEntry,
  type Transport,
} from "@hokan/core";
import { createParser } from "eventsource-parser";
import { Observable } from "rxjs";
import {
  type CompressionOptions,
  compose,
  type Fetcher,
  type RetryOptions,
  type TimedInit,
  type TokenProvider,
  withAuth,
  withCompression,
  withProblems,
  withRetry,
  withTimeout,
} from "./layers.js";

/** How long the HTTP transport waits (see {@link HttpTransportOptions.timeouts}). */
export interface HttpTimeouts {
  /**
   * For the server to start answering a request that asks little of it: connecting, a probe, opening the live
   * channel, a catalog (default 10 s). A frozen connection (a NAT timeout, a Wi-Fi handover) fails within it.
   */
  readonly connectMs?: number;
  /** Added to a push's deadline for each change it carries (default 10 ms: 500 changes get 5 s more). */
  readonly perChangeMs?: number;
  /**
   * Added to a pull's deadline for each document it asks for (default 0.5 ms: a page of 4,000 gets 2 s more; the
   * page's body then has `idleMs` between its chunks).
   */
  readonly perDocumentMs?: number;
  /** Added for each KiB of request body (default 20 ms, about 50 KB/s up, a slow mobile link). */
  readonly perKiBMs?: number;
  /** Longest pause while an answer's body arrives (default 10 s). */
  readonly idleMs?: number;
}

/** The defaults of {@link HttpTimeouts}. */
export const DEFAULT_HTTP_TIMEOUTS: Required<HttpTimeouts> = {
  connectMs: 10_000,
  perChangeMs: 10,
  perDocumentMs: 0.5,
  perKiBMs: 20,
  idleMs: 10_000,
};

/** Options of {@link createHttpTransport}. */
export interface HttpTransportOptions {
  /** The server, e.g. `http://127.0.0.1:8787`. */
  readonly baseUrl: string;
  readonly token: TokenProvider;
  /** The fetch to use (default the global one): browsers, webviews, Node, workers. */
  readonly fetch?: Fetcher;
  /**
   * Deadlines fitted to each request: the answer must start within `connectMs` plus what the request asks of the
   * server (its changes, the documents it asks for, its size), and its body may not pause longer than `idleMs`.
   */
  readonly timeouts?: HttpTimeouts;
  /** @deprecated The older name of `timeouts.connectMs`. */
  readonly timeoutMs?: number;
  /** Quick retries of a failed request (default 3 tries from 200 ms); longer outages are the engine's to wait out. */
  readonly retry?: RetryOptions;
  /** Gzip request bodies from this size (default 16 KiB); `false` never. */
  readonly compression?: CompressionOptions | false;
}

/**
 * The {@link Transport} over HTTP: JSON requests to the server's `/v1` API and a server-sent-events live channel,
 * built from small layers (`withRetry`, `withProblems`, `withAuth`, `withTimeout`). The server's problem documents
 * become `HokanError`s with their codes; a refused token is refreshed once, then reported as `unauthorized`.
 *
 * @example
 * ```ts
 * const transport = createHttpTransport({ baseUrl: "https://backup.example.jp", token: ({ refresh }) => auth.token(refresh) });
 * ```
 */
export function createHttpTransport(options: HttpTransportOptions): Transport {
  const base = options.baseUrl.replace(/\/+$/, "");
  const doFetch: Fetcher = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
  const t: Required<HttpTimeouts> = {
    ...DEFAULT_HTTP_TIMEOUTS,
    ...(options.timeoutMs === undefined ? {} : { connectMs: options.timeoutMs }),
    ...options.timeouts,
  };
  // Outermost first: retry whole attempts; each attempt checks the answer, carries the token, has a deadline.
  const send = compose(
    withRetry(options.retry ?? {}),
    withProblems(),
    withAuth(options.token),
    withTimeout(t.connectMs, { idleMs: t.idleMs }),
    ...(options.compression === false ? [] : [withCompression(options.compression ?? {})]),
  )(doFetch);
  // The live channel: token, problems and a deadline for its opening, but no retries (the engine reopens it); once
  // open, the engine watches its heartbeat.
  const openLive = compose(withProblems(), withAuth(options.token), withTimeout(t.connectMs))(doFetch);
  // A probe asks once and quickly: the engine probes again.
  const probeOnce = compose(withProblems(), withTimeout(t.connectMs, { idleMs: t.idleMs }))(doFetch);

  async function request<T>(method: string, path: string, body?: unknown, workMs = 0): Promise<T> {
    const json = body === undefined ? undefined : JSON.stringify(body);
    const deadlineMs = t.connectMs + workMs + Math.ceil((json?.length ?? 0) / 1024) * t.perKiBMs;
    const init: TimedInit = {
      method,
      deadlineMs,
      ...(json === undefined ? {} : { headers: { "content-type": "application/json" }, body: json }),
    };
    const res = await send(`${base}${path}`, init);
    return (await res.json()) as T;
  }

  const scopeBody = (scope: AppScope) => ({
    appVersion: scope.appVersion,
    platform: scope.platform,
    ...(scope.schemaVersion === undefined ? {} : { schemaVersion: scope.schemaVersion }),
  });
  const app = (appId: string) => `/v1/apps/${encodeURIComponent(appId)}`;

  return {
    pull: (r: PullRequest) =>
      request<PullResponse>(
        "POST",
        `${app(r.scope.appId)}/pull`,
        { scope: scopeBody(r.scope), checkpoint: r.checkpoint, limit: r.limit },
        Math.round(r.limit * t.perDocumentMs),
      ),
    push: (r: PushRequest) =>
      request<PushResponse>(
        "POST",
        `${app(r.scope.appId)}/push`,
        {
          scope: scopeBody(r.scope),
          idempotencyKey: r.idempotencyKey,
          changes: r.changes,
          ...(r.bulk ? { bulk: true } : {}),
        },
        r.changes.length * t.perChangeMs,
      ),
    probe: async () => {
      const res = await probeOnce(`${base}/v1/health`, { method: "GET" });
      await res.body?.cancel();
    },
    catalog: () => request<Catalog>("GET", "/v1/catalog"),
    registry: async (platform: Platform) =>
      (await request<{ apps: RegistryEntry[] }>("GET", `/v1/registry?platform=${platform}`)).apps,
    deleteApp: (scope: AppScope, requestId: string) =>
      request<DeleteResult>("DELETE", app(scope.appId), { requestId }),
    deleteAll: (requestId: string, platform?: Platform) =>
      request<DeleteResult>("POST", "/v1/bulk-delete", { requestId, ...(platform ? { platform } : {}) }),
    live: (apps: readonly AppScope[], liveOptions: LiveOptions = {}) => {
      const query = apps.map(
        (a) => `scope=${[a.appId, a.platform, a.appVersion].map(encodeURIComponent).join(",")}`,
      );
      if (liveOptions.catalog) query.push("catalog=1");
      return liveChannel(`${base}/v1/live?${query.join("&")}`, openLive);
    },
  };
}

/**
 * Most characters of one server-sent event the live channel buffers: a hint with its documents fits PostgreSQL's
 * 8,000-byte NOTIFY; a server that sends more without ending an event is broken or hostile.
 */
const MAX_LIVE_EVENT_CHARS = 1024 * 1024;

/**
 * Server-sent events over fetch (EventSource cannot send an Authorization header), framed by `eventsource-parser`
 * (any line ending, comments, fields split across reads). Errors when the stream ends.
 */
function liveChannel(url: string, send: Fetcher): Observable<LiveEvent> {
  return new Observable<LiveEvent>((subscriber) => {
    const controller = new AbortController();
    const run = async () => {
      const res = await send(url, { headers: { accept: "text/event-stream" }, signal: controller.signal });
      if (!res.body) throw new HokanError("protocol", "the live channel answered without a body");
      let failure: HokanError | undefined;
      const parser = createParser({
        maxBufferSize: MAX_LIVE_EVENT_CHARS,
        onEvent: (event) => {
          if (failure || !event.data) return;
          try {
            subscriber.next(JSON.parse(event.data) as LiveEvent);
          } catch (error) {
            failure = new HokanError("protocol", "the live channel sent an event that is not JSON", {
              cause: error,
            });
          }
        },
        onError: (error) => {
          failure ??= new HokanError("protocol", `the live channel's stream is malformed: ${error.message}`);
        },
      });
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.feed(decoder.decode(value, { stream: true }));
        if (failure) {
          await reader.cancel().catch(() => {});
          throw failure;
        }
      }
      throw new HokanError("network", "the live channel closed");
    };
    run().catch((error: unknown) => {
      if (!controller.signal.aborted) subscriber.error(HokanError.from(error, "network"));
    });
    return () => controller.abort();
  });
}
