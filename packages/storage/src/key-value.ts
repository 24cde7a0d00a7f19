import { HokanError, type Json, type Replication, type WriteReceipt } from "@hokan/core";
import { concat, defer, distinctUntilChanged, filter, map, type Observable } from "rxjs";

/**
 * Backed-up key/value storage for an app's settings and consent state: each key is a document of one collection,
 * written through the app's replication (so it is queued, backed up and restored like any document).
 */
export interface KeyValue {
  get<T extends Json = Json>(key: string): Promise<T | undefined>;
  /** Resolves once stored on the device, with a receipt for `Replication.acknowledged`. */
  set(key: string, value: Json): Promise<WriteReceipt>;
  delete(key: string): Promise<WriteReceipt>;
  /** The key's value now, then every change, local or restored; `undefined` while absent. */
  observe<T extends Json = Json>(key: string): Observable<T | undefined>;
  /** Every key with a value. */
  keys(): Promise<string[]>;
}

/**
 * Key/value storage on a collection of a {@link Replication} (which must declare the collection).
 *
 * @example
 * ```ts
 * const settings = createKeyValue(replication, "settings");
 * await settings.set("theme", "dark");
 * settings.observe<string>("theme").subscribe(applyTheme);
 * ```
 */
export function createKeyValue(replication: Replication, collection = "kv"): KeyValue {
  const read = async <T extends Json>(key: string): Promise<T | undefined> => {
    const doc = await replication.get(collection, checkKey(key));
    return doc === undefined ? undefined : (doc.value as T);
  };
  return {
    get: read,
    set: async (key, value) => {
      if (value === undefined) throw new HokanError("bad-request", "a value must be JSON, not undefined");
      return replication.put(collection, checkKey(key), { value });
    },
    delete: async (key) => replication.delete(collection, checkKey(key)),
    observe: <T extends Json>(key: string) =>
      concat(
        defer(() => read<T>(key)),
        replication.changes$.pipe(
          filter((c) => c.collection === collection && c.id === key),
          map((c) => (c.data === null ? undefined : (c.data.value as T))),
        ),
      ).pipe(distinctUntilChanged((a, b) => JSON.stringify(a) === JSON.stringify(b))),
    keys: async () => (await replication.list(collection)).map((d) => d.id),
  };
}

function checkKey(key: string): string {
  if (typeof key !== "string" || key.length === 0 || key.length > 256) {
    throw new HokanError("bad-request", "a key is a string of 1 to 256 characters");
  }
  return key;
}
