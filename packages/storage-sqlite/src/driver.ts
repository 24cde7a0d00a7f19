/** A value SQLite binds or returns. */
export type SqlValue = string | number | null;

/** One row of a query, by column name. */
export type SqlRow = Readonly<Record<string, unknown>>;

/** Runs statements on one connection, or inside one transaction. */
export interface SqlExecutor {
  /** Runs one statement with `?` parameters; a query resolves with its rows, anything else with none. */
  execute(sql: string, params?: readonly SqlValue[]): Promise<readonly SqlRow[]>;
}

/**
 * The smallest async SQLite driver the store needs: statements, and a transaction in which all of `work` commits or
 * none of it does. Thin adapters fit the drivers apps use to it (`@hokan/storage-sqlite/better-sqlite3` in Node;
 * op-sqlite, expo-sqlite and the Capacitor plugin on phones). The store runs one operation at a time on it, so a
 * driver over one connection needs no locking of its own.
 */
export interface SqliteDriver extends SqlExecutor {
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
