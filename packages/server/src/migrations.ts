import { STORED_ROW_BYTES } from "@hokan/core";
import type { Database } from "./database.js";

/**
 * The schema, as numbered migrations applied in order at start. Every table and index starts with `account_id`, so
 * the schema can be distributed by account (see docs/adr/0002-keyed-by-account.md).
 */
export const MIGRATIONS: readonly { readonly version: number; readonly sql: string }[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE apps (
        account_id      text    NOT NULL,
        app_id          text    NOT NULL,
        epoch           integer NOT NULL DEFAULT 1,
        seq             bigint  NOT NULL DEFAULT 0,
        last_backup_at  bigint  NOT NULL DEFAULT 0,
        app_version     text    NOT NULL,
        platform        text    NOT NULL,
        schema_version  integer NOT NULL DEFAULT 1,
        documents       integer NOT NULL DEFAULT 0,
        bytes           bigint  NOT NULL DEFAULT 0,
        PRIMARY KEY (account_id, app_id)
      );
      CREATE TABLE documents (
        account_id      text    NOT NULL,
        app_id          text    NOT NULL,
        collection      text    NOT NULL,
        id              text    NOT NULL,
        data            jsonb,
        rev             integer NOT NULL,
        seq             bigint  NOT NULL,
        hlc             text    NOT NULL,
        change_id       text    NOT NULL,
        updated_at      bigint  NOT NULL,
        schema_version  integer NOT NULL DEFAULT 1,
        bytes           integer NOT NULL DEFAULT 0,
        PRIMARY KEY (account_id, app_id, collection, id)
      );
      CREATE INDEX documents_feed ON documents (account_id, app_id, seq);
      CREATE TABLE push_answers (
        account_id      text    NOT NULL,
        app_id          text    NOT NULL,
        key             text    NOT NULL,
        fingerprint     text    NOT NULL,
        response        jsonb   NOT NULL,
        created_at      bigint  NOT NULL,
        PRIMARY KEY (account_id, app_id, key)
      );
      CREATE TABLE delete_answers (
        account_id      text    NOT NULL,
        request_id      text    NOT NULL,
        result          jsonb   NOT NULL,
        created_at      bigint  NOT NULL,
        PRIMARY KEY (account_id, request_id)
      );
    `,
  },
  {
    // A document's state may be an app's first-launch default, which any edit wins over (see WriteKind).
    version: 2,
    sql: `ALTER TABLE documents ADD COLUMN is_default boolean NOT NULL DEFAULT false`,
  },
  {
    // A document's bytes became what it stores (core's storedBytes): ids and tombstones count against the quota.
    version: 3,
    sql: `
      UPDATE documents SET bytes = bytes + octet_length(collection) + octet_length(id) + octet_length(hlc)
        + octet_length(change_id) + ${STORED_ROW_BYTES};
      UPDATE apps SET bytes = COALESCE((SELECT sum(d.bytes) FROM documents d
        WHERE d.account_id = apps.account_id AND d.app_id = apps.app_id), 0)
    `,
  },
];

/** Advisory lock key that serialises migrations across server processes starting together. */
const MIGRATION_LOCK = 7_403_201;

/**
 * Applies the migrations the database has not seen, in one transaction under an advisory lock: server processes
 * starting together on one PostgreSQL take turns, and the later ones find the work done.
 */
export async function migrate(db: Database): Promise<number[]> {
  return db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await tx.query(
      "CREATE TABLE IF NOT EXISTS hokan_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
    );
    const done = new Set(
      (await tx.query<{ version: number }>("SELECT version FROM hokan_migrations")).map((r) =>
        Number(r.version),
      ),
    );
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      for (const statement of m.sql
        .split(";")
        .map((x) => x.trim())
        .filter(Boolean))
        await tx.query(statement);
      await tx.query("INSERT INTO hokan_migrations (version) VALUES ($1)", [m.version]);
      applied.push(m.version);
    }
    return applied;
  });
}
