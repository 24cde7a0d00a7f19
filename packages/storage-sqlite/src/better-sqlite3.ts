import type { Database } from "better-sqlite3";
import type { SqliteDriver, SqlRow, SqlValue } from "./driver.js";

/**
 * Work on each database file, one at a time in this process. better-sqlite3 is synchronous: a second connection's
 * `BEGIN IMMEDIATE` while the first one's transaction waits between statements would block the thread that must
 * finish the first, until the busy timeout. Other processes are waited for by SQLite itself (`busy_timeout`).
 */
const files = new Map<string, Promise<unknown>>();

function inTurn<T>(file: string, work: () => Promise<T>): Promise<T> {
  const before = files.get(file) ?? Promise.resolve();
  const result = before.then(work, work);
  const settled = result.then(
    () => undefined,
    () => undefined,
  );
  files.set(file, settled);
  void settled.then(() => {
    if (files.get(file) === settled) files.delete(file);
  });
  return result;
}

/**
 * A {@link SqliteDriver} over a `better-sqlite3` database (Node: tests, tools, a server-side device). Statements run
 * synchronously; a transaction is `BEGIN IMMEDIATE` … `COMMIT`, rolled back when `work` throws. A file database is
 * switched to WAL and waits up to `busyTimeoutMs` (default 5,000) for another process's write.
 */
export function betterSqlite3Driver(db: Database, options: { busyTimeoutMs?: number } = {}): SqliteDriver {
  // An in-memory database is its connection's alone.
  const file = db.memory ? Symbol() : db.name;
  let ready = false;
  const prepare = () => {
    if (ready) return;
    // Here, not at creation: a file that is not a database fails on first use, where the store types the failure.
    if (!db.memory) db.pragma("journal_mode = WAL");
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    ready = true;
  };
  const run = async (sql: string, params: readonly SqlValue[] = []): Promise<readonly SqlRow[]> => {
    const statement = db.prepare(sql);
    if (statement.reader) return statement.all(...params) as SqlRow[];
    statement.run(...params);
    return [];
  };
  const turn = <T>(work: () => Promise<T>): Promise<T> =>
    typeof file === "string" ? inTurn(file, work) : work();
  return {
    execute: (sql, params) =>
      turn(async () => {
        prepare();
        return run(sql, params);
      }),
    transaction: (work) =>
      turn(async () => {
        prepare();
        db.exec("BEGIN IMMEDIATE");
        try {
          const result = await work({ execute: run });
          db.exec("COMMIT");
          return result;
        } catch (error) {
          if (db.inTransaction) db.exec("ROLLBACK");
          throw error;
        }
      }),
    close: () =>
      turn(async () => {
        db.close();
      }),
  };
}
