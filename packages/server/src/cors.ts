import cors from "@fastify/cors";
import type { FastifyInstance } from "fastify";

/** Which web origins may call the server from a browser (CORS). Without it, only pages of the server's own origin. */
export interface CorsOptions {
  /** Origins allowed, as a browser sends them (`https://app.example.com`, with a port if not the default), or `"*"`. */
  readonly origins: readonly string[] | "*";
  /** How long a browser may keep a preflight's answer, seconds (default 600). */
  readonly maxAgeSeconds?: number;
}

/** A CORS setting the server cannot use; `message` says which value and why. */
export class CorsConfigError extends Error {
  readonly code = "cors-config";
  override readonly name = "CorsConfigError";
}

/** The request headers a Hokan client sends, and the response headers it reads. */
const REQUEST_HEADERS = "authorization, content-type, content-encoding, hokan-protocol";
const RESPONSE_HEADERS = "hokan-warning, retry-after";

/**
 * Origins from a comma-separated list (`--cors-origins`, `HOKAN_CORS_ORIGINS`): each `scheme://host[:port]` exactly as
 * a browser sends it in `Origin`, or the list is `*`. Throws {@link CorsConfigError} naming the first bad one.
 */
export function parseOrigins(list: string): readonly string[] | "*" {
  const trimmed = list.trim();
  if (trimmed === "*") return "*";
  const origins = trimmed
    .split(",")
    .map((o) => o.trim())
    .filter(Boolean);
  if (origins.length === 0) throw new CorsConfigError("name at least one origin, or * for any");
  for (const origin of origins) checkOrigin(origin);
  return origins;
}

function checkOrigin(origin: string): void {
  let url: URL | undefined;
  try {
    url = new URL(origin);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:") || url.origin !== origin) {
    throw new CorsConfigError(
      `${JSON.stringify(origin)} is not an origin: write scheme://host[:port] as the browser sends it, with no path or trailing slash (like https://app.example.com)`,
    );
  }
}

/**
 * Lets pages of the allowed origins call every route, through `@fastify/cors`: preflights are answered in its
 * `onRequest` hook, before authentication (a browser never sends a token on them), and every answer, errors and the
 * live stream included, is marked readable by the calling origin. Tokens travel in the `Authorization` header, never
 * in cookies, so no credentials mode is involved.
 */
export async function addCors(app: FastifyInstance, options: CorsOptions): Promise<void> {
  if (options.origins !== "*") for (const origin of options.origins) checkOrigin(origin);
  const maxAge = options.maxAgeSeconds ?? 600;
  if (!Number.isSafeInteger(maxAge) || maxAge < 0)
    throw new CorsConfigError(`maxAgeSeconds must be a whole number of seconds, not ${maxAge}`);
  await app.register(cors, {
    origin: options.origins === "*" ? "*" : [...options.origins],
    methods: ["GET", "POST", "DELETE"],
    allowedHeaders: REQUEST_HEADERS,
    exposedHeaders: RESPONSE_HEADERS,
    maxAge,
    hook: "onRequest",
    // An OPTIONS request that is not a preflight goes on to the routes (and their problem documents), not to a bare
    // text answer.
    strictPreflight: false,
  });
}
