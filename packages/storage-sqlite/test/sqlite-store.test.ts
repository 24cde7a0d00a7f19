import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HokanError, type LocalDocument, type OutboxEntry } from "@hokan/core";
import { runLocalStoreTests } from "@hokan/core/conformance";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { betterSqlite3Driver } from "../src/better-sqlite3.js";
import { SqliteStore } from "../src/index.js";
import { DOCUMENTS_BY_KEY, OUTBOX_BY_KEY } from "../src/sqlite-store.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
/** A fresh database file in a temporary folder. */
function freshFile(): string {
  const dir = mkdtempSync(join(tmpdir(), "hokan-sqlite-"));
  dirs.push(dir);
  return join(dir, "hokan.db");
}
const open = (file: string) => SqliteStore.open(betterSqlite3Driver(new Database(file)));

runLocalStoreTests(
  "SqliteStore on better-sqlite3 (a file, WAL)",
  async () => {
    const file = freshFile();
    let store = await open(file);
    const others: SqliteStore[] = [];
    return {
      store,
      openAnother: async () => {
        const other = await open(file);
        others.push(other);
        return other;
      },
      reopen: async () => {
        await store.close();
        store = await open(file);
        return store;
      },
      teardown: async () => {
        for (const o of others) await o.close();
        await store.close();
      },
    };
  },
  { acknowledgements: true },
);

const NS = { account: "alice", app: "jp.example.mail" };
const entry = (id: string, seq = -1): OutboxEntry => ({
  seq,
  collection: "settings",
  id,
  data: { v: id },
  hlc: "000000000000001:000000:d",
  changeId: `c-${id}`,
  epoch: 1,
});
const doc = (id: string): LocalDocument => ({
  collection: "settings",
  id,
  data: { v: id },
  hlc: "000000000000001:000000:d",
});

describe("SqliteStore", () => {
  it("keeps its own schema version, and refuses a database a newer version of it wrote", async () => {
    const file = freshFile();
    const store = await open(file);
    await store.close();
    const db = new Database(file);
    expect(db.prepare("SELECT max(version) AS v FROM hokan_schema").get()).toEqual({ v: 1 });
    db.prepare("INSERT INTO hokan_schema (version) VALUES (2)").run();
    await expect(SqliteStore.open(betterSqlite3Driver(db))).rejects.toMatchObject({
      code: "upgrade-required",
    });
    db.close();
  });

  it("says a full disk is quota, on the device, and changes nothing", async () => {
    const db = new Database(freshFile());
    const store = await SqliteStore.open(betterSqlite3Driver(db));
    await store.commit(NS, { documents: [doc("a")], outboxPut: [entry("a")] });
    // No room for more pages: the next large commit cannot be written.
    const pages = Number(db.pragma("page_count", { simple: true }));
    db.pragma(`max_page_count = ${pages + 2}`);
    const big = Array.from({ length: 200 }, (_, i) => ({
      ...doc(`b${i}`),
      data: { blob: "x".repeat(2000) },
    }));
    const error = await store
      .commit(NS, { documents: big, outboxPut: big.map((d) => entry(d.id)) })
      .catch((e: unknown) => e);
    expect(HokanError.is(error, "quota")).toBe(true);
    expect(error).toMatchObject({ retryable: true, details: { where: "device" } });
    expect(await store.countOutbox(NS)).toBe(1);
    expect((await store.listDocuments(NS)).map((d) => d.id)).toEqual(["a"]);
    await store.close();
  });

  it("says a file that is not a database is damaged storage, not to be retried", async () => {
    const file = freshFile();
    const { writeFileSync } = await import("node:fs");
    writeFileSync(file, "this is not a database, but a file of the same name ".repeat(200));
    const error = await SqliteStore.open(betterSqlite3Driver(new Database(file))).catch((e: unknown) => e);
    expect(HokanError.is(error, "storage")).toBe(true);
    expect(error).toMatchObject({ retryable: false });
  });

  it("reads by keys one primary-key lookup per key, never a scan of the namespace per key", async () => {
    // A fresh database has no statistics: the plan SQLite picks then is the one every phone's first restore gets.
    const file = freshFile();
    const store = await SqliteStore.open(betterSqlite3Driver(new Database(file)));
    await store.close();
    const db = new Database(file);
    for (const [sql, table] of [
      [DOCUMENTS_BY_KEY, "d USING PRIMARY KEY (ns=? AND collection=? AND id=?)"],
      [OUTBOX_BY_KEY, "o USING INDEX hokan_outbox_doc (ns=? AND collection=? AND id=?)"],
    ] as const) {
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all("[]", "ns") as { detail: string }[]).map(
        (r) => r.detail,
      );
      const keys = plan.findIndex((d) => /^SCAN k\b/.test(d));
      const lookup = plan.indexOf(`SEARCH ${table}`);
      expect(keys, plan.join(" | ")).toBeGreaterThanOrEqual(0);
      expect(lookup, plan.join(" | ")).toBeGreaterThan(keys);
    }
    db.close();
  });
});
