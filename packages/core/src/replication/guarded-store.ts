import { HokanError } from "../errors.js";
import type { LocalStore } from "../ports.js";

/**
 * The store as the runner uses it: whatever a store throws that is not already a `HokanError` (a custom store's own
 * error, a browser's `DOMException`) becomes a retryable `storage` error at this boundary. So an error that reaches
 * the runner without a code is known to come from code, the app's or Hokan's, and stops replication as `internal`
 * instead of being retried forever.
 */
export function guardStore(store: LocalStore): LocalStore {
  const guard =
    <A extends unknown[], R>(what: string, op: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await op(...args);
      } catch (error) {
        if (HokanError.is(error)) throw error;
        throw new HokanError("storage", `the local store failed to ${what}: ${describeError(error)}`, {
          cause: error,
        });
      }
    };
  return {
    ...(store.acknowledgements === true ? { acknowledgements: true } : {}),
    getDocuments: guard("read documents", (ns, keys) => store.getDocuments(ns, keys)),
    listDocuments: guard("list documents", (ns, collection) => store.listDocuments(ns, collection)),
    readOutbox: guard("read the outbox", (ns, limit, after) => store.readOutbox(ns, limit, after)),
    outboxFor: guard("read the outbox", (ns, keys) => store.outboxFor(ns, keys)),
    countOutbox: guard("count the outbox", (ns) => store.countOutbox(ns)),
    getSync: guard("read the sync state", (ns) => store.getSync(ns)),
    commit: guard("commit", (ns, change) => store.commit(ns, change)),
    dropNamespace: guard("drop a namespace", (ns) => store.dropNamespace(ns)),
    close: guard("close", () => store.close()),
  };
}

/** `TypeError: x is not a function`: what was thrown, for a message that must carry its cause. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  try {
    return typeof error === "string" ? error : (JSON.stringify(error) ?? String(error));
  } catch {
    return String(error);
  }
}

/**
 * What an unexpected throw becomes: a `HokanError` as it is; anything else is a bug in code (the app's or Hokan's),
 * reported once as a fatal `internal` error that names its cause.
 */
export function unexpected(error: unknown): HokanError {
  if (HokanError.is(error)) return HokanError.from(error);
  return new HokanError("internal", describeError(error), { cause: error });
}
