import type { SqliteDriver } from "./driver.js";
import { answersWithRows, asRows, explicitDriver } from "./statements.js";

/**
 * The part of a `@capacitor-community/sqlite` connection (`SQLiteDBConnection`, as
 * `new SQLiteConnection(CapacitorSQLite).createConnection(...)` returns it and `open()` opens, versions 5 to 8) the
 * store uses. Typed here, not imported, so this package needs no Capacitor to build.
 */
export interface CapacitorSqliteConnection {
  query(statement: string, values?: unknown[]): Promise<{ values?: unknown[] }>;
  run(statement: string, values?: unknown[], transaction?: boolean): Promise<unknown>;
  beginTransaction(): Promise<unknown>;
  commitTransaction(): Promise<unknown>;
  rollbackTransaction(): Promise<unknown>;
  close(): Promise<void>;
}

/** iOS answers a query with a first row naming the columns (`{ ios_columns: [...] }`): not a row of the table. */
function withoutColumnRow(values: readonly unknown[] | undefined): readonly unknown[] | undefined {
  const first = values?.[0] as Record<string, unknown> | undefined;
  if (first && Object.keys(first).length === 1 && "ios_columns" in first) return values?.slice(1);
  return values;
}

/**
 * A {@link SqliteDriver} over a Capacitor SQLite connection (iOS, Android; the web through jeep-sqlite). Open the
 * connection first (`await db.open()`), to a database of Hokan's own. Each statement runs without the plugin's own
 * per-statement transaction; a transaction is the plugin's `beginTransaction` … `commitTransaction`, rolled back when
 * the work throws. WAL is asked for on first use where the platform allows it.
 *
 * @example
 * ```ts
 * const sqlite = new SQLiteConnection(CapacitorSQLite);
 * const db = await sqlite.createConnection("hokan", false, "no-encryption", 1, false);
 * await db.open();
 * const store = await SqliteStore.open(capacitorSqliteDriver(db));
 * ```
 */
export function capacitorSqliteDriver(db: CapacitorSqliteConnection): SqliteDriver {
  return explicitDriver({
    // WAL is a speed-up, not a guarantee the store relies on: a platform that refuses it (the web build) goes without.
    prepare: () =>
      db.query("PRAGMA journal_mode = WAL").then(
        () => undefined,
        () => undefined,
      ),
    execute: async (sql, params) => {
      if (answersWithRows(sql)) return asRows(withoutColumnRow((await db.query(sql, [...params])).values));
      await db.run(sql, [...params], false);
      return [];
    },
    begin: () => db.beginTransaction(),
    commit: () => db.commitTransaction(),
    rollback: () => db.rollbackTransaction(),
    close: () => db.close(),
  });
}
