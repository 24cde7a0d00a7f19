import type { SqliteDriver, SqlRow, SqlValue } from "./driver.js";
import { asRows, explicitDriver } from "./statements.js";

/** The options of sqlite-wasm's `exec` the driver uses: object rows returned. */
export interface SqliteWasmExecOptions {
  sql: string;
  bind?: (string | number | null)[];
  rowMode: "object";
  returnValue: "resultRows";
}

/**
 * The part of an `@sqlite.org/sqlite-wasm` database (its `oo1.DB`, as `new sqlite3.oo1.OpfsDb(...)` or a pool's
 * `new OpfsSAHPoolDb(...)` makes one, 3.44 and later) the store uses. Typed here, not imported.
 */
export interface SqliteWasmDatabase {
  exec(options: SqliteWasmExecOptions): Record<string, unknown>[];
  close(): void;
}

/**
 * A {@link SqliteDriver} over SQLite compiled to WebAssembly (`@sqlite.org/sqlite-wasm`), for a web app or a
 * webview that keeps Hokan's data in the origin private file system (OPFS) instead of IndexedDB. OPFS is reachable
 * synchronously only from a worker: run the replication in a worker and open the database there, on the
 * `opfs-sahpool` VFS (no cross-origin isolation needed) or `opfs` (needs it). Statements run synchronously; a
 * transaction is `BEGIN IMMEDIATE` … `COMMIT`, rolled back when the work throws.
 *
 * @example
 * ```ts
 * // in a worker
 * const sqlite3 = await sqlite3InitModule();
 * const pool = await sqlite3.installOpfsSAHPoolVfs({ name: "hokan" });
 * const store = await SqliteStore.open(sqliteWasmDriver(new pool.OpfsSAHPoolDb("/hokan.sqlite3")));
 * ```
 */
export function sqliteWasmDriver(db: SqliteWasmDatabase): SqliteDriver {
  const run = async (sql: string, params: readonly SqlValue[] = []): Promise<readonly SqlRow[]> =>
    asRows(db.exec({ sql, bind: [...params], rowMode: "object", returnValue: "resultRows" }));
  return explicitDriver({
    execute: run,
    begin: () => run("BEGIN IMMEDIATE"),
    commit: () => run("COMMIT"),
    rollback: () => run("ROLLBACK"),
    close: async () => {
      db.close();
    },
  });
}
