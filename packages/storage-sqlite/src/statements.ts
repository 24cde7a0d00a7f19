import type { SqlExecutor, SqlRow } from "./driver.js";

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

/**
 * A transaction a driver opens and ends by its own calls (a `BEGIN IMMEDIATE` statement, a plugin's
 * `beginTransaction`): all of `work` is committed, or rolled back when it throws (a failed rollback does not hide why).
 */
export async function explicitTransaction<T>(
  steps: { begin(): Promise<unknown>; commit(): Promise<unknown>; rollback(): Promise<unknown> },
  tx: SqlExecutor,
  work: (tx: SqlExecutor) => Promise<T>,
): Promise<T> {
  await steps.begin();
  try {
    const result = await work(tx);
    await steps.commit();
    return result;
  } catch (error) {
    await steps.rollback().catch(() => undefined);
    throw error;
  }
}
