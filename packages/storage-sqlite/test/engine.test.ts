import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runEngineScenarios } from "@hokan/core/conformance";
import Database from "better-sqlite3";
import { afterAll } from "vitest";
import { betterSqlite3Driver } from "../src/better-sqlite3.js";
import { SqliteStore } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "hokan-sqlite-engine-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

// Each device a SQLite file of its own, as a phone's app has.
runEngineScenarios("SQLite (better-sqlite3, a file per device)", (deviceId) =>
  SqliteStore.open(betterSqlite3Driver(new Database(join(dir, `${deviceId}-${++files}.db`)))),
);
