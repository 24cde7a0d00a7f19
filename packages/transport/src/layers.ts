import { HokanError, isErrorCode, PROTOCOL_VERSION, type Runtime, systemRuntime } from "@hokan/core";

/** The shape every layer wraps: `fetch` itself, or a layer around it. */
export type Fetcher = (url: string, init: RequestInit) => Promise<Response>;

/** A layer: takes the next fetcher, returns one that does a little more. */
export type Layer = (next: Fetcher) => Fetcher;

/** Composes layers, outermost first: `compose(a, b)(fetch)` runs a, then b, then fetch. */
export function compose(...layers: readonly Layer[]): Layer {
  return (next) => layers.reduceRight((inner, layer) => layer(inner), next);
}

/** Supplies bearer tokens; `refresh` asks for a new one after the server refused the current one. */
export type TokenProvider = (options: { readonly refresh: boolean }) => string | Promise<string>;

/** Adds the bearer token; after a 401, asks the provider for a fresh token and tries exactly once more. */
export function withAuth(token: TokenProvider): Layer {
  return (next) => async (url, init) => {
    const send = async (refresh: boolean) => {
      const headers = new Headers(init.headers);
      headers.set("authorization", `Bearer ${await token({ refresh })}`);
      return next(url, { ...init, headers });
    };
    const first = await send(false);
    if (first.status !== 401) return first;
    await first.body?.cancel();
    return send(true);
  };
}

/**
 * Speaks protocol version 1 and turns every refusal into a `HokanError` with the server's code: a problem document's
 * `code`, or one judged by status. Codes the table marks final (`upgrade-required`, `retired`, `not-entitled`,
 * `unauthorized` after the auth layer's refresh, ...) reach the engine as such and stop its retries.
 */
export function withProblems(): Layer {
  return (next) => async (url, init) => {
    const headers = new Headers(init.headers);
    headers.set("hokan-protocol", String(PROTOCOL_VERSION));
    let res: Response;
    try {
      res = await next(url, { ...init, headers });
    } catch (error) {
      throw HokanError.is(error)
        ? error
        : new HokanError("network", `${url}: ${(error as Error).message}`, { cause: error });
    }
    if (res.ok) return res;
    throw await problemOf(res);
  };
}

/** Reads a problem document into a HokanError. */
export async function problemOf(res: Response): Promise<HokanError> {
  let body: { code?: unknown; detail?: unknown; retryable?: unknown } = {};
  try {
    body = (await res.json()) as typeof body;
  } catch {
    // not a problem document: judged by status below
  }
  const detail = typeof body.detail === "string" ? body.detail : `HTTP ${res.status}`;
  const retryAfter = Number(res.headers.get("retry-after"));
  const details =
    Number.isFinite(retryAfter) && retryAfter > 0 ? { details: { retryAfterMs: retryAfter * 1000 } } : {};
  if (isErrorCode(body.code)) {
    return new HokanError(body.code, detail, {
      ...(typeof body.retryable === "boolean" ? { retryable: body.retryable } : {}),
      ...details,
    });
  }
  if (res.status === 429) return new HokanError("rate-limited", detail, details);
  if (res.status >= 500) return new HokanError("server", detail);
  return new HokanError("protocol", detail);
}

/**
 * A request's own deadline for the answer's headers, set per request by whoever knows what it asks of the server (a
 * push of 500 changes is not a health probe): read by {@link withTimeout} instead of its default.
 */
export type TimedInit = RequestInit & { readonly deadlineMs?: number };

/** Options of {@link withTimeout}. */
export interface TimeoutOptions {
  /**
   * Read the answer's body here too, giving up when no byte arrives for this long (a `timeout`): a connection frozen
   * mid-answer reports no error, ever. Without it the body is the caller's (a stream that stays open, as the live
   * channel's).
   */
  readonly idleMs?: number;
}

/**
 * Aborts a request whose answer does not start within `ms` (or the request's own `deadlineMs`): a `timeout` error
 * (retryable). With `idleMs`, also one whose body stalls.
 */
export function withTimeout(ms: number, options: TimeoutOptions = {}): Layer {
  return (next) => async (url, init) => {
    const controller = new AbortController();
    const outer = init.signal;
    const abort = () => controller.abort();
    outer?.addEventListener("abort", abort);
    const deadline = (init as TimedInit).deadlineMs ?? ms;
    let timer = setTimeout(abort, deadline);
    let phase = `no answer within ${deadline} ms`;
    let streaming = false;
    try {
      const res = await next(url, { ...init, signal: controller.signal });
      if (options.idleMs === undefined || !res.body) {
        // A body left to the caller may still be cancelled through the caller's signal.
        if (res.body) streaming = true;
        return res;
      }
      const idle = options.idleMs;
      phase = `the answer stalled for ${idle} ms`;
      const reader = res.body.getReader();
      const chunks: Uint8Array[] = [];
      for (;;) {
        clearTimeout(timer);
        timer = setTimeout(abort, idle);
        const { value, done } = await reader.read();
        if (done) break;
        chunks.push(value);
      }
      return new Response(new Blob(chunks as BlobPart[]), {
        status: res.status,
        statusText: res.statusText,
        headers: res.headers,
      });
    } catch (error) {
      if (controller.signal.aborted && !outer?.aborted) {
        throw new HokanError("timeout", `${url}: ${phase}`, { cause: error });
      }
      throw error;
    } finally {
      clearTimeout(timer);
      if (!streaming) outer?.removeEventListener("abort", abort);
    }
  };
}

/** Options of {@link withRetry}. */
export interface RetryOptions {
  /** Tries in all (default 3). */
  readonly attempts?: number;
  readonly baseMs?: number;
  readonly maxMs?: number;
  readonly runtime?: Pick<Runtime, "random" | "setTimeout">;
}

/**
 * Tries a failed request again when the failure is retryable (network, server, rate-limited; not a timeout, which
 * already waited a whole deadline), after an exponential pause with jitter and a cap (honouring `Retry-After`).
 * Every Hokan request may be repeated safely:
 * pulls read, pushes carry an idempotency key, deletes a request id. Longer outages are the engine's to wait out.
 */
export function withRetry(options: RetryOptions = {}): Layer {
  const attempts = options.attempts ?? 3;
  const base = options.baseMs ?? 200;
  const cap = options.maxMs ?? 5000;
  const runtime = options.runtime ?? systemRuntime;
  return (next) => async (url, init) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await next(url, init);
      } catch (error) {
        const e = HokanError.from(error, "network");
        // A request that timed out already waited its whole deadline: the engine, which probes, takes it from here.
        if (!e.retryable || e.code === "timeout" || attempt >= attempts || init.signal?.aborted) throw e;
        const exp = Math.min(cap, base * 2 ** (attempt - 1));
        const hinted = Number(e.details?.retryAfterMs ?? 0);
        const delay = Math.max(hinted, Math.round(exp / 2 + runtime.random() * (exp / 2)));
        await new Promise<void>((resolve) => runtime.setTimeout(resolve, Math.min(delay, cap)));
      }
    }
  };
}

/** Options of {@link withCompression}. */
export interface CompressionOptions {
  /** Compress bodies of at least this many bytes (default 16 KiB: smaller ones do not pay for the CPU). */
  readonly minBytes?: number;
}

/**
 * Gzips large JSON request bodies (`content-encoding: gzip`), where the platform has `CompressionStream`. Push
 * batches of app data shrink several times, which pays on mobile networks; see `benchmarks/compression.ts`.
 */
export function withCompression(options: CompressionOptions = {}): Layer {
  const min = options.minBytes ?? 16 * 1024;
  return (next) => async (url, init) => {
    if (typeof init.body !== "string" || init.body.length < min || typeof CompressionStream === "undefined") {
      return next(url, init);
    }
    const stream = new Blob([init.body]).stream().pipeThrough(new CompressionStream("gzip"));
    const body = new Uint8Array(await new Response(stream).arrayBuffer());
    const headers = new Headers(init.headers);
    headers.set("content-encoding", "gzip");
    return next(url, { ...init, headers, body });
  };
}
