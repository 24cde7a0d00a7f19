/**
 * Throw-away databases for tests and benchmarks of code that runs against the server: PGlite in memory, or a fresh
 * PostgreSQL database dropped afterwards.
 *
 * @module
 */
import { randomId, systemRuntime } from "@hokan/core";
import pg from "pg";
import { type Database, openPGlite, openPostgres } from "./database.js";

/** A database to throw away after tests or benchmarks. */
export interface ScratchDatabase {
  readonly db: Database;
  /** Its connection string (PostgreSQL only). */
  readonly url?: string;
  /** Closes the database and, on PostgreSQL, drops it. */
  drop(): Promise<void>;
}

/** The PostgreSQL the tests and benchmarks create their databases on (`HOKAN_TEST_POSTGRES`). */
export const SCRATCH_POSTGRES_URL =
  process.env.HOKAN_TEST_POSTGRES ?? "postgres://postgres@127.0.0.1:5432/postgres";

/**
 * A fresh, empty database: PGlite in memory, or a new PostgreSQL database named `<prefix>_<random>` on the server
 * of `adminUrl`, dropped by `drop()`.
 */
export async function scratchDatabase(
  kind: "pglite" | "postgres",
  options: { adminUrl?: string; prefix?: string } = {},
): Promise<ScratchDatabase> {
  if (kind === "pglite") {
    const db = await openPGlite();
    let closed = false;
    const close = db.close.bind(db);
    // Callers may close the database before dropping it: closing twice is a no-op.
    const guarded: Database = {
      ...db,
      close: async () => {
        if (closed) return;
        closed = true;
        await close();
      },
    };
    return { db: guarded, drop: () => guarded.close() };
  }
  const admin = options.adminUrl ?? SCRATCH_POSTGRES_URL;
  const name = `${options.prefix ?? "hokan_scratch"}_${randomId(systemRuntime)}`;
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  const url = admin.replace(/\/[^/?]*(\?|$)/, `/${name}$1`);
  const db = await openPostgres(url);
  let dropped = false;
  return {
    db,
    url,
    drop: async () => {
      if (dropped) return;
      dropped = true;
      await db.close().catch(() => undefined);
      await run(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    },
  };
}
