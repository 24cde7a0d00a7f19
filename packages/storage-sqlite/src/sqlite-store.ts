import {
  type DocumentKey,
  HokanError,
  INITIAL_SYNC_STATE,
  type LocalDocument,
  type LocalStore,
  mergeSyncState,
  type Namespace,
  type OutboxEntry,
  type StoreCommit,
  type SyncState,
} from "@hokan/core";
import type { SqlExecutor, SqliteDriver, SqlRow } from "./driver.js";

/**
 * The store's own schema, by version: applied in order at open, in one transaction each, and recorded. Every table
 * and index starts with the namespace (account and app), one set of tables for any number of them, as the Dexie
 * store does.
 */
export const SQLITE_MIGRATIONS: readonly (readonly string[])[] = [
  [
    `CREATE TABLE hokan_documents (
       ns TEXT NOT NULL, collection TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL,
       PRIMARY KEY (ns, collection, id)) WITHOUT ROWID`,
    `CREATE TABLE hokan_outbox (
       ns TEXT NOT NULL, seq INTEGER NOT NULL, collection TEXT NOT NULL, id TEXT NOT NULL, entry TEXT NOT NULL,
       PRIMARY KEY (ns, seq)) WITHOUT ROWID`,
    "CREATE INDEX hokan_outbox_doc ON hokan_outbox (ns, collection, id)",
    "CREATE TABLE hokan_sync (ns TEXT PRIMARY KEY NOT NULL, state TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE hokan_device (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID",
  ],
];

/**
 * Reads by a list of keys, passed as one JSON parameter (a driver pays for every call). CROSS JOIN keeps the key list
 * the outer loop and each key one lookup in the (ns, collection, id) key or index: without table statistics SQLite's
 * planner otherwise scans the namespace's rows once per key, so a page of a restore cost the square of the documents
 * already held.
 */
export const DOCUMENTS_BY_KEY = `SELECT k.key AS i, d.doc FROM json_each(?) k CROSS JOIN hokan_documents d
  ON d.ns = ? AND d.collection = json_extract(k.value, '$[0]') AND d.id = json_extract(k.value, '$[1]')`;
export const OUTBOX_BY_KEY = `SELECT DISTINCT o.seq, o.entry FROM json_each(?) k CROSS JOIN hokan_outbox o INDEXED BY hokan_outbox_doc
  ON o.ns = ? AND o.collection = json_extract(k.value, '$[0]') AND o.id = json_extract(k.value, '$[1]')
  ORDER BY o.seq`;

/**
 * A push's acknowledgements in one statement: each document that still holds the write acknowledged (same HLC) gets
 * its new base, its own data with the server's revision and change id, made in SQLite from the stored text instead of
 * the document being written again from JavaScript.
 */
export const ACKNOWLEDGE = `INSERT OR REPLACE INTO hokan_documents (ns, collection, id, doc)
  SELECT d.ns, d.collection, d.id, json_set(d.doc, '$.base', json_object(
    'rev', json_extract(a.value, '$.rev'), 'data', json_extract(d.doc, '$.data'),
    'hlc', json_extract(a.value, '$.hlc'), 'changeId', json_extract(a.value, '$.changeId')))
  FROM json_each(?) a CROSS JOIN hokan_documents d
  ON d.ns = ? AND d.collection = json_extract(a.value, '$.collection') AND d.id = json_extract(a.value, '$.id')
  WHERE json_extract(d.doc, '$.hlc') = json_extract(a.value, '$.hlc')`;

const nsKey = (ns: Namespace): string => JSON.stringify([ns.account, ns.app]);

/**
 * JSON text of a record, refusing what JSON cannot hold (a function, a symbol, a bigint, an infinite number) instead
 * of dropping it silently: the store keeps exactly what it was given, or nothing.
 */
function toJson(value: unknown): string {
  return JSON.stringify(value, (key, v: unknown) => {
    const type = typeof v;
    if (
      type === "function" ||
      type === "symbol" ||
      type === "bigint" ||
      (type === "number" && !Number.isFinite(v))
    )
      throw new HokanError("storage", `cannot store a value of type ${type} (at ${JSON.stringify(key)})`, {
        retryable: false,
      });
    return v;
  });
}
const keysJson = (keys: readonly DocumentKey[]): string =>
  JSON.stringify(keys.map((k) => [k.collection, k.id]));

/**
 * A {@link LocalStore} on SQLite, over any {@link SqliteDriver}: the store for phones (React Native, Capacitor),
 * where there is no IndexedDB. Every commit is one transaction; operations run one at a time on the connection.
 * Create it with {@link SqliteStore.open}, which brings the store's own schema up to date.
 */
export class SqliteStore implements LocalStore {
  /** A push's answer sets the documents' bases in one SQL statement from their stored JSON, not from JavaScript. */
  readonly acknowledgements = true;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly driver: SqliteDriver) {}

  /** Opens the store on a driver, applying the schema versions the database has not seen. */
  static async open(driver: SqliteDriver): Promise<SqliteStore> {
    const store = new SqliteStore(driver);
    await store.run("open the database", () => migrate(driver));
    return store;
  }

  getDocuments(ns: Namespace, keys: readonly DocumentKey[]): Promise<(LocalDocument | undefined)[]> {
    return this.run("read documents", async () => {
      if (keys.length === 0) return [];
      const rows = await this.driver.execute(DOCUMENTS_BY_KEY, [keysJson(keys), nsKey(ns)]);
      const out: (LocalDocument | undefined)[] = keys.map(() => undefined);
      for (const r of rows) out[Number(r.i)] = JSON.parse(String(r.doc)) as LocalDocument;
      return out;
    });
  }

  listDocuments(ns: Namespace, collection?: string): Promise<LocalDocument[]> {
    return this.run("list documents", async () => {
      const rows =
        collection === undefined
          ? await this.driver.execute(
              "SELECT doc FROM hokan_documents WHERE ns = ? ORDER BY collection, id",
              [nsKey(ns)],
            )
          : await this.driver.execute(
              "SELECT doc FROM hokan_documents WHERE ns = ? AND collection = ? ORDER BY id",
              [nsKey(ns), collection],
            );
      return rows.map((r) => JSON.parse(String(r.doc)) as LocalDocument);
    });
  }

  readOutbox(ns: Namespace, limit?: number, after?: number): Promise<OutboxEntry[]> {
    return this.run("read the outbox", async () => {
      const rows = await this.driver.execute(
        "SELECT entry FROM hokan_outbox WHERE ns = ? AND seq > ? ORDER BY seq LIMIT ?",
        [nsKey(ns), after ?? Number.MIN_SAFE_INTEGER, limit ?? -1],
      );
      return entries(rows);
    });
  }

  outboxFor(ns: Namespace, keys: readonly DocumentKey[]): Promise<OutboxEntry[]> {
    return this.run("read the outbox", async () => {
      if (keys.length === 0) return [];
      const rows = await this.driver.execute(OUTBOX_BY_KEY, [keysJson(keys), nsKey(ns)]);
      return entries(rows);
    });
  }

  countOutbox(ns: Namespace): Promise<number> {
    return this.run("count the outbox", async () => {
      const [row] = await this.driver.execute("SELECT count(*) AS n FROM hokan_outbox WHERE ns = ?", [
        nsKey(ns),
      ]);
      return Number(row?.n ?? 0);
    });
  }

  getSync(ns: Namespace): Promise<SyncState | undefined> {
    return this.run("read sync state", () => readSync(this.driver, nsKey(ns)));
  }

  commit(ns: Namespace, change: StoreCommit): Promise<number[]> {
    const n = nsKey(ns);
    return this.run("commit", () =>
      this.driver.transaction(async (tx) => {
        if (change.clearOutbox) await tx.execute("DELETE FROM hokan_outbox WHERE ns = ?", [n]);
        if (change.outboxDelete?.length) {
          await tx.execute(
            "DELETE FROM hokan_outbox WHERE ns = ? AND seq IN (SELECT value FROM json_each(?))",
            [n, JSON.stringify(change.outboxDelete)],
          );
        }
        let puts = change.outboxPut ?? [];
        const numbered: number[] = [];
        if (change.sync || puts.some((e) => e.seq <= 0)) {
          const current = await readSync(tx, n);
          let next: SyncState = change.sync
            ? mergeSyncState(current, change.sync)
            : (current ?? INITIAL_SYNC_STATE);
          // New entries take the namespace's next sequence numbers, in the order given, in this transaction.
          puts = puts.map((e) => {
            if (e.seq > 0) return e;
            numbered.push(next.nextSeq);
            const entry = { ...e, seq: next.nextSeq };
            next = { ...next, nextSeq: next.nextSeq + 1 };
            return entry;
          });
          await tx.execute("INSERT OR REPLACE INTO hokan_sync (ns, state) VALUES (?, ?)", [
            n,
            JSON.stringify(next),
          ]);
        }
        // Each kind of row in one statement, whatever the count: a phone's driver pays for every call.
        if (puts.length > 0) {
          await tx.execute(
            `INSERT OR REPLACE INTO hokan_outbox (ns, seq, collection, id, entry)
               SELECT ?, json_extract(value, '$.seq'), json_extract(value, '$.collection'), json_extract(value, '$.id'),
                      value
               FROM json_each(?)`,
            [n, toJson(puts)],
          );
        }
        if (change.documents?.length) {
          await tx.execute(
            `INSERT OR REPLACE INTO hokan_documents (ns, collection, id, doc)
               SELECT ?, json_extract(value, '$.collection'), json_extract(value, '$.id'), value FROM json_each(?)`,
            [n, toJson(change.documents)],
          );
        }
        if (change.acknowledged?.length) await tx.execute(ACKNOWLEDGE, [toJson(change.acknowledged), n]);
        return numbered;
      }),
    );
  }

  dropNamespace(ns: Namespace): Promise<void> {
    const n = nsKey(ns);
    return this.run("drop a namespace", () =>
      this.driver.transaction(async (tx) => {
        for (const table of ["hokan_documents", "hokan_outbox", "hokan_sync"])
          await tx.execute(`DELETE FROM ${table} WHERE ns = ?`, [n]);
      }),
    );
  }

  /** A device-level value (such as the device settings), shared by every account and app. */
  getDeviceValue<T>(key: string): Promise<T | undefined> {
    return this.run("read a device value", async () => {
      const [row] = await this.driver.execute("SELECT value FROM hokan_device WHERE key = ?", [key]);
      return row === undefined ? undefined : (JSON.parse(String(row.value)) as T);
    });
  }

  /** Stores a device-level value. */
  setDeviceValue(key: string, value: unknown): Promise<void> {
    return this.run("store a device value", async () => {
      await this.driver.execute("INSERT OR REPLACE INTO hokan_device (key, value) VALUES (?, ?)", [
        key,
        toJson(value ?? null),
      ]);
    });
  }

  close(): Promise<void> {
    return this.run("close the database", () => this.driver.close());
  }

  /** Runs an operation after the ones before it, and turns its failure into a typed error. */
  private run<T>(what: string, op: () => Promise<T>): Promise<T> {
    const result = this.queue.then(op).catch((error: unknown) => {
      throw toSqliteError(error, what);
    });
    this.queue = result.catch(() => undefined);
    return result;
  }
}

function entries(rows: readonly SqlRow[]): OutboxEntry[] {
  return rows.map((r) => JSON.parse(String(r.entry)) as OutboxEntry);
}

async function readSync(sql: SqlExecutor, n: string): Promise<SyncState | undefined> {
  const [row] = await sql.execute("SELECT state FROM hokan_sync WHERE ns = ?", [n]);
  return row === undefined ? undefined : (JSON.parse(String(row.state)) as SyncState);
}

async function migrate(driver: SqliteDriver): Promise<void> {
  await driver.execute("CREATE TABLE IF NOT EXISTS hokan_schema (version INTEGER NOT NULL)");
  const [row] = await driver.execute("SELECT max(version) AS v FROM hokan_schema");
  const done = Number(row?.v ?? 0);
  if (done > SQLITE_MIGRATIONS.length) {
    throw new HokanError(
      "upgrade-required",
      `the device's Hokan database is at schema ${done}; this version of @hokan/storage-sqlite knows ${SQLITE_MIGRATIONS.length}`,
    );
  }
  for (let v = done + 1; v <= SQLITE_MIGRATIONS.length; v++) {
    await driver.transaction(async (tx) => {
      for (const statement of SQLITE_MIGRATIONS[v - 1] ?? []) await tx.execute(statement);
      await tx.execute("INSERT INTO hokan_schema (version) VALUES (?)", [v]);
    });
  }
}

/**
 * A SQLite failure as a typed Hokan error: a full disk is `quota` (`details.where: "device"`, retryable once space is
 * freed; the transaction changed nothing); a corrupt file or one that is not a database is `storage`, not retryable;
 * a locked or busy database, and anything else, `storage`, retryable.
 */
export function toSqliteError(error: unknown, what: string): HokanError {
  if (HokanError.is(error)) return error as HokanError;
  const code = String((error as { code?: unknown })?.code ?? "");
  const message = error instanceof Error ? error.message : String(error);
  const says = (c: string, text: RegExp) => code.startsWith(c) || text.test(message);
  if (says("SQLITE_FULL", /database or disk is full/i)) {
    return new HokanError("quota", `device storage is full while trying to ${what}: ${message}`, {
      cause: error,
      retryable: true,
      details: { where: "device" },
    });
  }
  if (says("SQLITE_CORRUPT", /malformed/i) || says("SQLITE_NOTADB", /not a database/i)) {
    return new HokanError("storage", `the database file is damaged (${what}): ${message}`, {
      cause: error,
      retryable: false,
    });
  }
  if (says("SQLITE_BUSY", /database is locked/i) || says("SQLITE_LOCKED", /table is locked/i)) {
    return new HokanError("storage", `the database is locked by another connection (${what}): ${message}`, {
      cause: error,
    });
  }
  return new HokanError("storage", `local storage failed to ${what}: ${message}`, { cause: error });
}
