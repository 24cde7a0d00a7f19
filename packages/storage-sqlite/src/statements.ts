import type { SqlExecutor, SqliteDriver, SqlRow, SqlValue } from "./driver.js";

/**
 * Whether a statement answers with rows (the store's reads and its pragmas): drivers whose API splits queries from
 * other statements (expo-sqlite, the Capacitor plugin) send it to the query call.
 */
export function answersWithRows(sql: string): boolean {
  return /^\s*(?:SELECT|WITH|PRAGMA|EXPLAIN|VALUES)\b/i.test(sql) || /\bRETURNING\b/i.test(sql);
}

/** Rows as the store reads them: plain objects by column name. */
export function asRows(rows: readonly unknown[] | undefined): readonly SqlRow[] {
  return (rows ?? []) as readonly SqlRow[];
}

/** A driver whose transactions are its own calls (a `BEGIN IMMEDIATE` statement, a plugin's `beginTransaction`). */
export interface ExplicitDriverParts {
  /** Run once, before the first statement, and awaited by every call after (the journal mode). */
  readonly prepare?: () => Promise<void>;
  readonly execute: (sql: string, params: readonly SqlValue[]) => Promise<readonly SqlRow[]>;
  readonly begin: () => Promise<unknown>;
  readonly commit: () => Promise<unknown>;
  readonly rollback: () => Promise<unknown>;
  readonly close: () => Promise<void>;
}

/**
 * A {@link SqliteDriver} from a driver's own calls: statements after its first-use setup, and transactions in which
 * all of `work` is committed, or rolled back when it throws (a failed rollback does not hide why).
 */
export function explicitDriver(parts: ExplicitDriverParts): SqliteDriver {
  let ready: Promise<void> | undefined;
  const prepare = () => {
    ready ??= parts.prepare?.() ?? Promise.resolve();
    return ready;
  };
  const tx: SqlExecutor = { execute: (sql, params = []) => parts.execute(sql, params) };
  return {
    execute: async (sql, params = []) => {
      await prepare();
      return parts.execute(sql, params);
    },
    transaction: async (work) => {
      await prepare();
      await parts.begin();
      try {
        const result = await work(tx);
        await parts.commit();
        return result;
      } catch (error) {
        await parts.rollback().catch(() => undefined);
        throw error;
      }
    },
    close: parts.close,
  };
}
