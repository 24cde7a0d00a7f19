import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runEngineScenarios, runLocalStoreTests } from "@hokan/core/conformance";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { capacitorSqliteDriver } from "../src/capacitor.js";
import type { SqliteDriver } from "../src/driver.js";
import { expoSqliteDriver } from "../src/expo-sqlite.js";
import { SqliteStore } from "../src/index.js";
import { opSqliteDriver } from "../src/op-sqlite.js";
import { capacitorSqliteOn, expoSqliteOn, opSqliteOn } from "./driver-fakes.js";

const dir = mkdtempSync(join(tmpdir(), "hokan-sqlite-drivers-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const file = () => join(dir, `db-${++files}.sqlite`);

const DRIVERS: Record<string, (db: Database.Database) => SqliteDriver> = {
  "op-sqlite": (db) => opSqliteDriver(opSqliteOn(db)),
  "expo-sqlite": (db) => expoSqliteDriver(expoSqliteOn(db)),
  "@capacitor-community/sqlite (Android)": (db) => capacitorSqliteDriver(capacitorSqliteOn(db)),
  "@capacitor-community/sqlite (iOS)": (db) => capacitorSqliteDriver(capacitorSqliteOn(db, true)),
};

for (const [name, driver] of Object.entries(DRIVERS)) {
  const open = (path: string) => SqliteStore.open(driver(new Database(path)));
  runLocalStoreTests(
    `SqliteStore through the ${name} adapter`,
    async () => {
      const path = file();
      let store = await open(path);
      return {
        store,
        reopen: async () => {
          await store.close();
          store = await open(path);
          return store;
        },
        teardown: async () => {
          await store.close();
        },
      };
    },
    { acknowledgements: true },
  );
  runEngineScenarios(`SQLite through the ${name} adapter`, () => open(file()));
}

describe("the mobile drivers' adapters", () => {
  it("switch the file to WAL, and roll a failed transaction back on each driver", async () => {
    for (const [name, driver] of Object.entries(DRIVERS)) {
      const path = file();
      const db = new Database(path);
      const d = driver(db);
      await d.execute("CREATE TABLE t (v TEXT)");
      await expect(
        d.transaction(async (tx) => {
          await tx.execute("INSERT INTO t (v) VALUES (?)", ["lost"]);
          throw new Error("the work failed");
        }),
        name,
      ).rejects.toThrow("the work failed");
      expect(await d.execute("SELECT count(*) AS n FROM t"), name).toEqual([{ n: 0 }]);
      expect(
        await d.transaction(async (tx) => {
          await tx.execute("INSERT INTO t (v) VALUES (?)", ["kept"]);
          return 7;
        }),
        name,
      ).toBe(7);
      expect(await d.execute("SELECT v FROM t"), name).toEqual([{ v: "kept" }]);
      expect(db.pragma("journal_mode", { simple: true }), name).toBe("wal");
      await d.close();
    }
  });

  it("send reads to the query call and writes to the statement call where the driver splits them", async () => {
    const db = new Database(file());
    const expo = expoSqliteOn(db);
    const cap = capacitorSqliteOn(new Database(file()), true);
    for (const d of [expoSqliteDriver(expo), capacitorSqliteDriver(cap)]) {
      await d.execute("CREATE TABLE t (v TEXT)");
      await d.execute("INSERT INTO t (v) VALUES (?)", ["a"]);
      // A read through the statement call would answer no rows; iOS's column row is not a row.
      expect(await d.execute("SELECT v FROM t WHERE v = ?", ["a"])).toEqual([{ v: "a" }]);
      expect(await d.execute("  with x AS (SELECT 1 AS one) SELECT one FROM x")).toEqual([{ one: 1 }]);
    }
  });
});
