import {
  type AppScope,
  type Catalog,
  type DeleteResult,
  HokanError,
  isErrorCode,
  type LiveEvent,
  type Platform,
  PROTOCOL_VERSION,
  type PullRequest,
  type PullResponse,
  type PushRequest,
  type PushResponse,
  type RegistryEntry,
  type Transport,
} from "@hokan/core";
import { Observable } from "rxjs";

/** Supplies bearer tokens; `refresh` asks for a new one after the server refused the current one. */
export type TokenProvider = (options: { readonly refresh: boolean }) => string | Promise<string>;

/** Options of {@link createHttpTransport}. */
export interface HttpTransportOptions {
  /** The server, e.g. `http://127.0.0.1:8787`. */
  readonly baseUrl: string;
  readonly token: TokenProvider;
  /** The fetch to use (default the global one): browsers, webviews, Node, workers. */
  readonly fetch?: typeof fetch;
  /** Abort a request after this long (default 30 s). */
  readonly timeoutMs?: number;
}

/**
 * The {@link Transport} over HTTP: JSON requests to the server's `/v1` API and a server-sent-events live channel.
 * The server's problem documents become `HokanError`s with their codes; a refused token is refreshed once, then
 * reported as `unauthorized`.
 */
export function createHttpTransport(options: HttpTransportOptions): Transport {
  const base = options.baseUrl.replace(/\/+$/, "");
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const timeoutMs = options.timeoutMs ?? 30_000;

  async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const token = await options.token({ refresh: attempt > 0 });
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), timeoutMs);
      let res: Response;
      try {
        res = await doFetch(`${base}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            "hokan-protocol": String(PROTOCOL_VERSION),
            ...(body === undefined ? {} : { "content-type": "application/json" }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: controller.signal,
        });
      } catch (error) {
        const timedOut = controller.signal.aborted;
        throw new HokanError(
          timedOut ? "timeout" : "network",
          `${method} ${path} failed: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      } finally {
        clearTimeout(timer);
      }
      if (res.ok) return (await res.json()) as T;
      const problem = await readProblem(res);
      if (problem.code === "unauthorized" && attempt === 0) continue;
      throw problem;
    }
    throw new HokanError("unauthorized", "the token was refused after a refresh");
  }

  const scopeBody = (scope: AppScope) => ({
    appVersion: scope.appVersion,
    platform: scope.platform,
    ...(scope.schemaVersion === undefined ? {} : { schemaVersion: scope.schemaVersion }),
  });
  const app = (appId: string) => `/v1/apps/${encodeURIComponent(appId)}`;

  return {
    pull: (r: PullRequest) =>
      request<PullResponse>("POST", `${app(r.scope.appId)}/pull`, {
        scope: scopeBody(r.scope),
        checkpoint: r.checkpoint,
        limit: r.limit,
      }),
    push: (r: PushRequest) =>
      request<PushResponse>("POST", `${app(r.scope.appId)}/push`, {
        scope: scopeBody(r.scope),
        idempotencyKey: r.idempotencyKey,
        changes: r.changes,
      }),
    catalog: () => request<Catalog>("GET", "/v1/catalog"),
    registry: async (platform: Platform) =>
      (await request<{ apps: RegistryEntry[] }>("GET", `/v1/registry?platform=${platform}`)).apps,
    deleteApp: (scope: AppScope, requestId: string) =>
      request<DeleteResult>("DELETE", app(scope.appId), { requestId }),
    deleteAll: (requestId: string) => request<DeleteResult>("POST", "/v1/bulk-delete", { requestId }),
    live: (appIds: readonly string[]) => liveChannel(base, doFetch, options.token, appIds),
  };
}

async function readProblem(res: Response): Promise<HokanError> {
  let body: { code?: unknown; detail?: unknown; retryable?: unknown } = {};
  try {
    body = (await res.json()) as typeof body;
  } catch {
    // not a problem document: judged by status below
  }
  const detail = typeof body.detail === "string" ? body.detail : `HTTP ${res.status}`;
  if (isErrorCode(body.code)) {
    return new HokanError(
      body.code,
      detail,
      typeof body.retryable === "boolean" ? { retryable: body.retryable } : {},
    );
  }
  return new HokanError(res.status >= 500 ? "server" : "protocol", detail);
}

/** Server-sent events over fetch (EventSource cannot send an Authorization header). Errors when the stream ends. */
function liveChannel(
  base: string,
  doFetch: typeof fetch,
  token: TokenProvider,
  appIds: readonly string[],
): Observable<LiveEvent> {
  return new Observable<LiveEvent>((subscriber) => {
    const controller = new AbortController();
    const run = async () => {
      const res = await doFetch(`${base}/v1/live?apps=${appIds.map(encodeURIComponent).join(",")}`, {
        headers: { authorization: `Bearer ${await token({ refresh: false })}`, accept: "text/event-stream" },
        signal: controller.signal,
      });
      if (!res.ok || !res.body) throw await readProblem(res);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let cut = buffer.indexOf("\n\n");
        while (cut >= 0) {
          const frame = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const data = frame
            .split("\n")
            .filter((l) => l.startsWith("data:"))
            .map((l) => l.slice(5).trimStart())
            .join("\n");
          if (data) subscriber.next(JSON.parse(data) as LiveEvent);
          cut = buffer.indexOf("\n\n");
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
