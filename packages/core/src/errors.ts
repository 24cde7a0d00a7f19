/**
 * The closed set of stable error codes Hokan uses on both sides of the wire.
 *
 * @remarks
 * Policy reasons (`offline`, `roaming`, ...) are codes too, so a held or denied decision and a server refusal speak
 * the same words. Never rename a code: clients and servers of different versions compare them.
 */
export const ERROR_CODES = [
  "offline",
  "roaming",
  "disabled",
  "no-account",
  "not-entitled",
  "unsupported",
  "capability",
  "retired",
  "upgrade-required",
  "quota",
  "unauthorized",
  "forbidden",
  "not-found",
  "bad-request",
  "bad-patch",
  "payload-too-large",
  "batch-too-large",
  "idempotency-mismatch",
  "rate-limited",
  "network",
  "timeout",
  "server",
  "storage",
  "protocol",
  "internal",
  "deleted",
] as const;

/** One stable error code. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** What {@link ERROR_TABLE} says of one code. */
export interface CodeInfo {
  /** HTTP status the server answers with for this code. */
  readonly status: number;
  /** Whether retrying the same request later can succeed without any input changing. */
  readonly retryable: boolean;
  /** What the user or developer can do about it. */
  readonly action: string;
}

/**
 * Code → HTTP status, retryability and the advice shown with it: the one table client and server share.
 */
export const ERROR_TABLE: { readonly [C in ErrorCode]: CodeInfo } = {
  offline: { status: 503, retryable: true, action: "It is sent when the device is online again." },
  roaming: {
    status: 503,
    retryable: true,
    action: "Turn on overseas use (海外利用設定) or wait until the device is home.",
  },
  disabled: { status: 503, retryable: true, action: "Turn backup on (利用設定) for this device." },
  "no-account": { status: 401, retryable: true, action: "Set an account on this device." },
  "not-entitled": {
    status: 403,
    retryable: false,
    action: "This account's contract does not include backup; change the contract.",
  },
  unsupported: {
    status: 404,
    retryable: false,
    action: "This app is not in the operator's registry for this platform.",
  },
  capability: {
    status: 403,
    retryable: false,
    action: "This operation is not offered for this app on this platform.",
  },
  retired: { status: 410, retryable: false, action: "The app was retired from the backup service." },
  "upgrade-required": {
    status: 426,
    retryable: false,
    action: "Update the app to the minimum supported version.",
  },
  quota: { status: 507, retryable: false, action: "Delete backed-up data or reduce what the app backs up." },
  unauthorized: {
    status: 401,
    retryable: false,
    action: "Sign in again: the token was refused after a refresh.",
  },
  forbidden: { status: 403, retryable: false, action: "The token does not allow this app or operation." },
  "not-found": { status: 404, retryable: false, action: "Check the path and identifiers." },
  "bad-request": { status: 400, retryable: false, action: "Fix the request as the message says." },
  "bad-patch": {
    status: 422,
    retryable: false,
    action: "The JSON patch does not apply to its base; send the document.",
  },
  "payload-too-large": { status: 413, retryable: false, action: "Split the document or the request." },
  "batch-too-large": { status: 413, retryable: false, action: "Send fewer changes per request." },
  "idempotency-mismatch": {
    status: 422,
    retryable: false,
    action: "An idempotency key was reused for a different request; use a new key.",
  },
  "rate-limited": { status: 429, retryable: true, action: "Slow down; it is retried after a pause." },
  network: { status: 503, retryable: true, action: "It is retried when the connection works again." },
  timeout: { status: 504, retryable: true, action: "It is retried." },
  server: { status: 500, retryable: true, action: "It is retried; report it if it persists." },
  storage: { status: 500, retryable: true, action: "Local storage failed; it is retried." },
  protocol: { status: 400, retryable: false, action: "Client and server speak different protocol versions." },
  deleted: {
    status: 409,
    retryable: false,
    action:
      "The app's backup was deleted (on the settings screen or another device) before this change reached the server, so it was dropped; write it again to back it up.",
  },
  internal: {
    status: 500,
    retryable: false,
    action:
      "A bug in the app's code (a conflict handler, a migration) or in Hokan; replication stops until the app restarts or an input changes. Report it with its cause.",
  },
};

/** Options for {@link HokanError}. */
export interface HokanErrorOptions {
  /** Override the table's retryability (e.g. a 500 known to be permanent). */
  readonly retryable?: boolean;
  readonly cause?: unknown;
  /** Structured details safe to show or log (never tokens or document contents). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * The one error type of Hokan: a stable {@link ErrorCode}, whether it is worth retrying, and an actionable message.
 *
 * @example
 * ```ts
 * try { await transport.push(req); }
 * catch (e) { if (HokanError.is(e, "upgrade-required")) showUpgradeBanner(); }
 * ```
 */
export class HokanError extends Error {
  override readonly name = "HokanError";
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly status: number;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  /** What happened, without the advice the full message adds. */
  readonly detail: string;

  constructor(code: ErrorCode, message: string, options: HokanErrorOptions = {}) {
    const info = ERROR_TABLE[code];
    super(
      `${message} (${code}: ${info.action})`,
      options.cause === undefined ? {} : { cause: options.cause },
    );
    this.detail = message;
    this.code = code;
    this.retryable = options.retryable ?? info.retryable;
    this.status = info.status;
    this.details = options.details;
  }

  /**
   * True for a HokanError, also one from another copy of this package or one that crossed a worker boundary as a
   * plain object with `name: "HokanError"` and a known code; optionally only for the given codes.
   */
  static is(value: unknown, ...codes: ErrorCode[]): value is HokanError {
    if (typeof value !== "object" || value === null) return false;
    const v = value as { name?: unknown; code?: unknown };
    if (v.name !== "HokanError" || !isErrorCode(v.code)) return false;
    return codes.length === 0 || codes.includes(v.code);
  }

  /**
   * Wraps anything thrown into a HokanError, keeping HokanErrors as they are. One that crossed a worker as a plain
   * object ({@link toJSON}) is rebuilt with its own detail, retryability and details.
   */
  static from(value: unknown, fallback: ErrorCode = "server"): HokanError {
    if (value instanceof HokanError) return value;
    if (HokanError.is(value)) {
      const v = value as Partial<HokanError> & { code: ErrorCode };
      const detail = typeof v.detail === "string" ? v.detail : withoutAdvice(String(v.message ?? ""), v.code);
      return new HokanError(v.code, detail, {
        ...(typeof v.retryable === "boolean" ? { retryable: v.retryable } : {}),
        ...(isRecord(v.details) ? { details: v.details } : {}),
        cause: value,
      });
    }
    const message = value instanceof Error ? value.message : String(value);
    return new HokanError(fallback, message, { cause: value });
  }

  /** A JSON-safe form (what crosses workers); {@link from} rebuilds the same error from it. */
  toJSON(): {
    name: "HokanError";
    code: ErrorCode;
    message: string;
    detail: string;
    retryable: boolean;
    status: number;
    details?: Readonly<Record<string, unknown>>;
  } {
    return {
      name: "HokanError",
      code: this.code,
      message: this.message,
      detail: this.detail,
      retryable: this.retryable,
      status: this.status,
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

/** A message without the ` (code: advice)` its constructor appended, from an error that lost its `detail`. */
function withoutAdvice(message: string, code: ErrorCode): string {
  const suffix = ` (${code}: ${ERROR_TABLE[code].action})`;
  return message.endsWith(suffix) ? message.slice(0, -suffix.length) : message;
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Type guard for a string that is one of {@link ERROR_CODES}. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && (ERROR_CODES as readonly string[]).includes(value);
}

/** The codes that stop replication until an input changes (no retry loop). */
export function isFatal(error: HokanError): boolean {
  return !error.retryable;
}
