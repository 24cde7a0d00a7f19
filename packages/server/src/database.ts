import { PGlite } from "@electric-sql/pglite";
import pg from "pg";

/** Something SQL can be sent to: the database, or a transaction. */
export interface Sql {
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<T[]>;
}

/**
 * The server's database: PostgreSQL through `pg`, or PGlite embedded. The same SQL runs on both.
 */
export interface Database extends Sql {
  /** Runs `fn` in one transaction (committed when it resolves, rolled back when it throws). */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  /**
   * Listens for NOTIFY on a channel; resolves to a function that stops listening. When the listening connection is
   * lost, it listens again (retrying with growing pauses) and then calls `onGap`: notices sent meanwhile are lost.
   */
  listen(
    channel: string,
    onPayload: (payload: string) => void,
    onGap?: () => void,
  ): Promise<() => Promise<void>>;
  close(): Promise<void>;
  /** `pglite` or `postgres`, for logs and health. */
  readonly kind: "pglite" | "postgres";
  /** The connection pool's state, for metrics (PostgreSQL; PGlite has one connection). */
  readonly pool?: () => { readonly total: number; readonly idle: number; readonly waiting: number };
}

/** PGlite: a data directory (or memory when absent), nothing to install. */
export async function openPGlite(dataDir?: string): Promise<Database> {
  const db = dataDir === undefined ? new PGlite() : new PGlite(dataDir);
  await db.waitReady;
  const asSql = (q: Pick<PGlite, "query">): Sql => ({
    query: async <T>(text: string, params: readonly unknown[] = []) =>
      (await q.query<T>(text, params as unknown[])).rows,
  });
  return {
    kind: "pglite",
    ...asSql(db),
    transaction: (fn) => db.transaction((tx) => fn(asSql(tx))),
    listen: async (channel, onPayload) => {
      const stop = await db.listen(channel, onPayload);
      return async () => stop();
    },
    close: () => db.close(),
  };
}

/** First pause before listening again after the listening connection was lost; it doubles up to the maximum. */
const LISTEN_RETRY_MS = 250;
const LISTEN_RETRY_MAX_MS = 10_000;

/**
 * PostgreSQL through a `pg` pool; NOTIFY reaches every server process on the same database. Every query runs in its
 * own statement or transaction, with no session state, so the pool may go through a transaction-pooling PgBouncer;
 * `LISTEN` needs a session of its own, which `listenUrl` then gives (a direct connection to the database).
 */
export async function openPostgres(
  connectionString: string,
  poolSize = 10,
  options: { readonly listenUrl?: string } = {},
): Promise<Database> {
  const pool = new pg.Pool({ connectionString, max: poolSize });
  // An idle connection that PostgreSQL ends (a restart, an administrator, a network cut) reports an error on the pool;
  // unhandled, it would end the server process. The pool drops that connection and opens another when needed.
  pool.on("error", () => undefined);
  // Fail at start, with the database's own message, rather than at the first request.
  const probe = await pool.connect();
  probe.release();
  const asSql = (q: pg.Pool | pg.PoolClient): Sql => ({
    query: async <T>(text: string, params: readonly unknown[] = []) =>
      (await q.query(text, params as unknown[])).rows as T[],
  });
  return {
    kind: "postgres",
    ...asSql(pool),
    pool: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    transaction: async (fn) => {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const out = await fn(asSql(client));
        await client.query("COMMIT");
        return out;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    listen: async (channel, onPayload, onGap) => {
      const handler = (m: pg.Notification) => {
        if (m.channel === channel && m.payload !== undefined) onPayload(m.payload);
      };
      let client: { readonly c: pg.ClientBase; readonly discard: () => void } | undefined;
      let stopped = false;
      let retry: ReturnType<typeof setTimeout> | undefined;
      /** A session for LISTEN: a direct connection when given one, else one of the pool's, closed rather than returned. */
      const session = async (): Promise<{ readonly c: pg.ClientBase; readonly discard: () => void }> => {
        if (!options.listenUrl) {
          const c = await pool.connect();
          return { c, discard: () => c.release(true) };
        }
        const c = new pg.Client({ connectionString: options.listenUrl });
        c.on("error", () => undefined);
        try {
          await c.connect();
        } catch (error) {
          void c.end().catch(() => undefined);
          throw error;
        }
        return { c, discard: () => void c.end().catch(() => undefined) };
      };
      const connect = async () => {
        const held = await session();
        const { c } = held;
        // Its connection ending (a restart, an administrator, a network cut) must not end the process: listen again.
        const lost = () => {
          if (client !== held) return;
          client = undefined;
          held.discard();
          if (!stopped) again(LISTEN_RETRY_MS);
        };
        c.on("error", lost);
        c.on("end", lost);
        c.on("notification", handler);
        try {
          await c.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
        } catch (error) {
          held.discard();
          throw error;
        }
        client = held;
      };
      const again = (delay: number) => {
        retry = setTimeout(() => {
          connect().then(
            () => onGap?.(),
            () => {
              if (!stopped) again(Math.min(delay * 2, LISTEN_RETRY_MAX_MS));
            },
          );
        }, delay);
        retry.unref?.();
      };
      await connect();
      return async () => {
        stopped = true;
        clearTimeout(retry);
        const held = client;
        client = undefined;
        if (!held) return;
        held.c.off("notification", handler);
        // Closed rather than returned to the pool, where its listeners would follow it to other work.
        held.discard();
      };
    },
    close: () => pool.end(),
  };
}
