import type { SqliteDriver, SqlRow, SqlValue } from "./driver.js";
import { asRows } from "./statements.js";

/** A value op-sqlite binds (its `Scalar`). */
export type OpSqliteScalar = string | number | boolean | null | ArrayBuffer | ArrayBufferView;

/** What op-sqlite's `execute` resolves with (its `QueryResult`), as far as the store reads it. */
export interface OpSqliteQueryResult {
  readonly rows: readonly Record<string, unknown>[];
}

/** The statements of an op-sqlite transaction (its `Transaction`). */
export interface OpSqliteTransaction {
  execute(query: string, params?: OpSqliteScalar[]): Promise<OpSqliteQueryResult>;
}

/**
 * The part of an `@op-engineering/op-sqlite` database (`DB`, as `open({ name })` returns it, versions 12 to 18) the
 * store uses. Typed here, not imported, so this package needs no React Native to build.
 */
export interface OpSqliteDatabase {
  execute(query: string, params?: OpSqliteScalar[]): Promise<OpSqliteQueryResult>;
  transaction(fn: (tx: OpSqliteTransaction) => Promise<void>): Promise<void>;
  close(): void;
}

/**
 * A {@link SqliteDriver} over an op-sqlite database (React Native, JSI). Give Hokan a database file of its own
 * (`open({ name: "hokan.sqlite" })`): its transactions are op-sqlite's (`BEGIN` … `COMMIT`, rolled back when the work
 * throws), and the file is switched to WAL on first use.
 *
 * @example
 * ```ts
 * import { open } from "@op-engineering/op-sqlite";
 * const store = await SqliteStore.open(opSqliteDriver(open({ name: "hokan.sqlite" })));
 * ```
 */
export function opSqliteDriver(db: OpSqliteDatabase): SqliteDriver {
  let ready: Promise<void> | undefined;
  const prepare = () => {
    ready ??= db.execute("PRAGMA journal_mode = WAL").then(() => undefined);
    return ready;
  };
  const run = async (
    on: Pick<OpSqliteDatabase, "execute">,
    sql: string,
    params: readonly SqlValue[] = [],
  ): Promise<readonly SqlRow[]> => asRows((await on.execute(sql, [...params])).rows);
  return {
    execute: async (sql, params) => {
      await prepare();
      return run(db, sql, params);
    },
    transaction: async (work) => {
      await prepare();
      let result: Awaited<ReturnType<typeof work>> | undefined;
      await db.transaction(async (tx) => {
        result = await work({ execute: (sql, params) => run(tx, sql, params) });
      });
      return result as Awaited<ReturnType<typeof work>>;
    },
    close: async () => {
      db.close();
    },
  };
}
