import type { SqlRow } from "./driver.js";

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
