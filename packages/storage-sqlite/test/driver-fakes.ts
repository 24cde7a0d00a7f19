// Each mobile driver's API as its package publishes it, played by a real SQLite (better-sqlite3) underneath: the
// adapters are checked against what the drivers do (async calls, their transactions, their quirks), on a real engine.
import type Database from "better-sqlite3";
import type { CapacitorSqliteConnection } from "../src/capacitor.js";
import type { ExpoSqliteDatabase } from "../src/expo-sqlite.js";
import type { OpSqliteDatabase, OpSqliteScalar } from "../src/op-sqlite.js";

type Db = Database.Database;
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

function all(db: Db, sql: string, params: readonly unknown[]): Record<string, unknown>[] {
  const statement = db.prepare(sql);
  if (statement.reader) return statement.all(...params) as Record<string, unknown>[];
  statement.run(...params);
  return [];
}

/** op-sqlite: `execute` answers every statement with `{ rows }`; `transaction` wraps `fn` in BEGIN … COMMIT. */
export function opSqliteOn(db: Db): OpSqliteDatabase & { statements: string[] } {
  const statements: string[] = [];
  const execute = async (query: string, params: OpSqliteScalar[] = []) => {
    await tick();
    statements.push(query);
    return { rows: all(db, query, params), rowsAffected: 0 };
  };
  return {
    statements,
    execute,
    transaction: async (fn) => {
      await execute("BEGIN TRANSACTION");
      try {
        await fn({ execute });
        await execute("COMMIT");
      } catch (error) {
        await execute("ROLLBACK");
        throw error;
      }
    },
    close: () => db.close(),
  };
}

/** expo-sqlite: `getAllAsync` for rows, `runAsync` for the rest (it refuses nothing, but returns no rows). */
export function expoSqliteOn(db: Db): ExpoSqliteDatabase & { statements: string[] } {
  const statements: string[] = [];
  return {
    statements,
    execAsync: async (source) => {
      await tick();
      statements.push(source);
      db.exec(source);
    },
    runAsync: async (source, params) => {
      await tick();
      statements.push(source);
      const info = db.prepare(source).run(...params);
      return { lastInsertRowId: Number(info.lastInsertRowid), changes: info.changes };
    },
    getAllAsync: async <T>(source: string, params: unknown[]) => {
      await tick();
      statements.push(source);
      return db.prepare(source).all(...params) as T[];
    },
    closeAsync: async () => {
      db.close();
    },
  };
}

/**
 * The Capacitor plugin: `run` wraps its statement in a transaction of its own unless told `false` (inside another it
 * then fails, as the plugin does); on iOS a query's first row names the columns.
 */
export function capacitorSqliteOn(db: Db, ios = false): CapacitorSqliteConnection & { statements: string[] } {
  const statements: string[] = [];
  return {
    statements,
    query: async (statement, values = []) => {
      await tick();
      statements.push(statement);
      const rows = db.prepare(statement).all(...values) as Record<string, unknown>[];
      const columns = rows[0] ? Object.keys(rows[0]) : [];
      return { values: ios ? [{ ios_columns: columns }, ...rows] : rows };
    },
    run: async (statement, values = [], transaction = true) => {
      await tick();
      statements.push(statement);
      if (transaction) db.exec("BEGIN");
      db.prepare(statement).run(...values);
      if (transaction) db.exec("COMMIT");
      return { changes: { changes: 1 } };
    },
    beginTransaction: async () => {
      await tick();
      db.exec("BEGIN");
      return {};
    },
    commitTransaction: async () => {
      await tick();
      db.exec("COMMIT");
      return {};
    },
    rollbackTransaction: async () => {
      await tick();
      db.exec("ROLLBACK");
      return {};
    },
    close: async () => {
      db.close();
    },
  };
}
