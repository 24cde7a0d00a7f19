import { HokanError } from "@hokan/core";

/** Names IndexedDB and Dexie give a full disk or an exhausted origin quota. */
const QUOTA = new Set(["QuotaExceededError"]);
/** Names of a connection the browser closed under us (backgrounded tab, storage pressure, Safari's "server lost"). */
const CLOSED = new Set(["DatabaseClosedError", "InvalidStateError"]);

function names(error: unknown): string[] {
  const out: string[] = [];
  let e: unknown = error;
  for (let depth = 0; e && depth < 4; depth++) {
    const x = e as { name?: unknown; inner?: unknown; cause?: unknown };
    if (typeof x.name === "string") out.push(x.name);
    e = x.inner ?? x.cause;
  }
  return out;
}

/** The connection was closed and a reopen may help. */
export function isClosed(error: unknown): boolean {
  const message = String((error as { message?: unknown })?.message ?? "");
  return names(error).some((n) => CLOSED.has(n)) || /connection.*lost|database.*closed/i.test(message);
}

/**
 * A storage failure as a typed Hokan error: `quota` (with `details.where: "device"`, retryable) when the device is out
 * of space, so nothing was written; `storage` for anything else (retryable, except values that cannot be stored).
 */
export function toStorageError(error: unknown, what: string): HokanError {
  if (HokanError.is(error)) return error as HokanError;
  const all = names(error);
  const detail = error instanceof Error ? error.message : String(error);
  if (all.some((n) => QUOTA.has(n))) {
    // The device is full, not the account's backup: worth retrying once the user frees space.
    return new HokanError("quota", `device storage is full while trying to ${what}: ${detail}`, {
      cause: error,
      retryable: true,
      details: { where: "device" },
    });
  }
  if (all.includes("DataCloneError")) {
    return new HokanError("storage", `cannot store a value while trying to ${what}: ${detail}`, {
      cause: error,
      retryable: false,
    });
  }
  return new HokanError("storage", `local storage failed to ${what}: ${detail}`, { cause: error });
}
