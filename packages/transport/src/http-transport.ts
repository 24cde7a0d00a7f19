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

/** How the live channel listens (see {@link HttpTransportOptions.live}). */
export interface LiveTransportOptions {
  /**
   * `"stream"`: server-sent events, one long response (needs a `fetch` whose response body streams). `"poll"`: long
   * polling, one request held by the server until a hint arrives or `waitMs` ends, then the next (any `fetch`: React
   * Native's, a webview's). `"auto"` (default): `"stream"` where the platform's `fetch` streams (`ReadableStream`,
   * `TextDecoder` and a `Response` with a `body`), `"poll"` elsewhere. Pass `"poll"` with a custom `fetch` that
   * buffers whole answers.
   */
  readonly mode?: "auto" | "stream" | "poll";
  /**
   * How long the server holds a long poll (default 25 s; 0.1 to 60 s): the channel's heartbeat, so a poll that has not
   * answered after a few of these is taken for a frozen connection. The client gives each poll this plus `connectMs`.
   */
  readonly waitMs?: number;
}

/** The defaults of {@link LiveTransportOptions}. */
export const DEFAULT_POLL_WAIT_MS = 25_000;

/** Does this platform's `fetch` hand out a response body as a stream (browsers, Node; not React Native's)? */
export function fetchStreams(): boolean {
  return (
    typeof ReadableStream !== "undefined" &&
    typeof TextDecoder !== "undefined" &&
    typeof Response !== "undefined" &&
    "body" in Response.prototype
  );
}

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
  /** How the live channel listens: a stream, or long polls where `fetch` cannot stream (default: as the platform can). */
  readonly live?: LiveTransportOptions;
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
  // A long poll: as the live channel's opening, and its answer's body is read within the idle deadline.
  const poll = compose(
    withProblems(),
    withAuth(options.token),
    withTimeout(t.connectMs, { idleMs: t.idleMs }),
  )(doFetch);
  const liveMode = options.live?.mode ?? "auto";
  const polling = liveMode === "poll" || (liveMode === "auto" && !fetchStreams());
  const waitMs = Math.min(60_000, Math.max(100, Math.round(options.live?.waitMs ?? DEFAULT_POLL_WAIT_MS)));
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
      const url = `${base}/v1/live?${query.join("&")}`;
      return polling ? livePolls(url, poll, waitMs, t.connectMs) : liveChannel(url, openLive);
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

/**
 * The live channel as long polls: each request is held by the server until a hint for the apps arrives or `waitMs`
 * ends; its answer's cursor goes with the next, so a hint that falls between two polls is still given (as its app's
 * head). The first answer says `open` with the heartbeat; an empty answer counts as a `beat`. Errors when a poll fails.
 */
function livePolls(url: string, send: Fetcher, waitMs: number, connectMs: number): Observable<LiveEvent> {
  return new Observable<LiveEvent>((subscriber) => {
    const controller = new AbortController();
    const run = async () => {
      let cursor: string | undefined;
      while (!controller.signal.aborted) {
        const init: TimedInit = { signal: controller.signal, deadlineMs: connectMs + waitMs };
        const res = await send(
          `${url}&wait=${waitMs}ms${cursor === undefined ? "" : `&cursor=${encodeURIComponent(cursor)}`}`,
          init,
        );
        const answer = (await res.json().catch((error: unknown) => {
          throw new HokanError("protocol", "a long poll answered with something that is not JSON", {
            cause: error,
          });
        })) as { events?: unknown; cursor?: unknown };
        if (!Array.isArray(answer.events) || typeof answer.cursor !== "string") {
          throw new HokanError("protocol", "a long poll answered without events and a cursor");
        }
        if (controller.signal.aborted) return;
        if (answer.events.length === 0) subscriber.next({ type: "beat" });
        for (const event of answer.events as LiveEvent[]) subscriber.next(event);
        cursor = answer.cursor;
      }
    };
    run().catch((error: unknown) => {
      if (!controller.signal.aborted) subscriber.error(HokanError.from(error, "network"));
    });
    return () => controller.abort();
  });
}
