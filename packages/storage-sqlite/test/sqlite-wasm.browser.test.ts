import { runEngineScenarios, runLocalStoreTests } from "@hokan/core/conformance";
import sqlite3InitModule from "@sqlite.org/sqlite-wasm";
import { expect, it } from "vitest";
import type { SqliteDriver, SqlRow, SqlValue } from "../src/driver.js";
import { SqliteStore } from "../src/index.js";
import { sqliteWasmDriver } from "../src/sqlite-wasm.js";
import type { Request } from "./opfs-worker.js";

// SQLite compiled to WebAssembly, on Chromium's origin private file system, through the sqlite-wasm adapter: the
// databases live in a worker (OPFS is synchronous only there), and the page's store reaches them by message, as a
// web app whose UI thread runs Hokan would.
const worker = new Worker(new URL("./opfs-worker.ts", import.meta.url), { type: "module" });
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
const ready = new Promise<void>((resolve, reject) => {
  worker.onerror = (e) => reject(new Error(`the worker failed: ${e.message}`));
  worker.onmessage = (event: MessageEvent) => {
    const m = event.data as {
      ready?: boolean;
      id?: number;
      result?: unknown;
      error?: { message: string; code?: unknown };
    };
    if (m.ready) return resolve();
    const p = pending.get(m.id as number);
    pending.delete(m.id as number);
    if (m.error) p?.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
    else p?.resolve(m.result);
  };
});
let ids = 0;
async function ask<T>(r: Omit<Request, "id">): Promise<T> {
  await ready;
  const id = ++ids;
  return new Promise<T>((resolve, reject) => {
    pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    worker.postMessage({ ...r, id });
  });
}

let dbs = 0;
/** A driver for one database file in the worker: each statement and transaction step one message. */
async function openInWorker(file: string): Promise<SqliteDriver> {
  const db = ++dbs;
  await ask({ op: "open", db, file });
  const execute = (sql: string, params?: readonly SqlValue[]) =>
    ask<readonly SqlRow[]>({ op: "execute", db, sql, ...(params ? { params: [...params] } : {}) });
  return {
    execute,
    transaction: async (work) => {
      await ask({ op: "begin", db });
      try {
        const result = await work({ execute });
        await ask({ op: "commit", db });
        return result;
      } catch (error) {
        await ask({ op: "rollback", db });
        throw error;
      }
    },
    close: () => ask({ op: "close", db }),
  };
}

it("runs SQLite on the origin private file system, in Chromium", async () => {
  expect(await ask<{ vfs: string }>({ op: "vfs" })).toMatchObject({ vfs: "hokan-test" });
  expect(typeof navigator.storage.getDirectory).toBe("function");
});

let files = 0;
runLocalStoreTests(
  "SqliteStore on sqlite-wasm, OPFS in Chromium",
  async () => {
    const file = `/conformance-${Date.now()}-${files++}.sqlite3`;
    let store = await SqliteStore.open(await openInWorker(file));
    return {
      store,
      reopen: async () => {
        await store.close();
        store = await SqliteStore.open(await openInWorker(file));
        return store;
      },
      teardown: async () => {
        await store.close();
      },
    };
  },
  { acknowledgements: true },
);

// The engine's scenarios run on a simulated clock that moves while nothing real is pending: a store behind a worker's
// message round trips would let it run ahead of the store. They run on the adapter in this thread, in memory.
const sqlite3 = await sqlite3InitModule();
runEngineScenarios("SQLite on sqlite-wasm in Chromium (this thread, in memory)", async () =>
  SqliteStore.open(sqliteWasmDriver(new sqlite3.oo1.DB(":memory:", "c"))),
);
