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
];

/** Applies the migrations the database has not seen, each in its own transaction. */
export async function migrate(db: Database): Promise<number[]> {
  await db.query(
    "CREATE TABLE IF NOT EXISTS hokan_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
  );
  const done = new Set(
    (await db.query<{ version: number }>("SELECT version FROM hokan_migrations")).map((r) =>
      Number(r.version),
    ),
  );
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (done.has(m.version)) continue;
    await db.transaction(async (tx) => {
      // Two processes starting together: the second waits here and then finds the migration done.
      const claimed = await tx.query(
        "INSERT INTO hokan_migrations (version) VALUES ($1) ON CONFLICT DO NOTHING RETURNING version",
        [m.version],
      );
      if (claimed.length === 0) return;
      for (const statement of m.sql
        .split(";")
        .map((s) => s.trim())
        .filter(Boolean))
        await tx.query(statement);
      applied.push(m.version);
    });
  }
  return applied;
}
