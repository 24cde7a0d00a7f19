import type { SqliteDriver, SqlRow } from "./driver.js";
import { answersWithRows, asRows, explicitDriver } from "./statements.js";

/** A value expo-sqlite binds (its `SQLiteBindValue`). */
export type ExpoSqliteBindValue = string | number | null | boolean | Uint8Array;

/**
 * The part of an `expo-sqlite` database (`SQLiteDatabase`, as `openDatabaseAsync(name)` returns it, SDK 50 and later)
 * the store uses. Typed here, not imported, so this package needs no Expo to build.
 */
export interface ExpoSqliteDatabase {
  execAsync(source: string): Promise<void>;
  runAsync(source: string, params: ExpoSqliteBindValue[]): Promise<unknown>;
  getAllAsync<T>(source: string, params: ExpoSqliteBindValue[]): Promise<T[]>;
  closeAsync(): Promise<void>;
}

/**
 * A {@link SqliteDriver} over an expo-sqlite database (Expo, React Native). Give Hokan a database of its own
 * (`openDatabaseAsync("hokan.db")`): the store runs one operation at a time on it, so its transactions are plain
 * `BEGIN IMMEDIATE` … `COMMIT` on the one connection (rolled back when the work throws), and the file is switched to WAL
 * on first use.
 *
 * @example
 * ```ts
 * import { openDatabaseAsync } from "expo-sqlite";
 * const store = await SqliteStore.open(expoSqliteDriver(await openDatabaseAsync("hokan.db")));
 * ```
 */
export function expoSqliteDriver(db: ExpoSqliteDatabase): SqliteDriver {
  return explicitDriver({
    prepare: () => db.execAsync("PRAGMA journal_mode = WAL"),
    execute: async (sql, params) => {
      if (answersWithRows(sql)) return asRows(await db.getAllAsync<SqlRow>(sql, [...params]));
      await db.runAsync(sql, [...params]);
      return [];
    },
    begin: () => db.execAsync("BEGIN IMMEDIATE"),
    commit: () => db.execAsync("COMMIT"),
    rollback: () => db.execAsync("ROLLBACK"),
    close: () => db.closeAsync(),
  });
}
