// A worker that owns SQLite databases on the origin private file system (sqlite-wasm's opfs-sahpool VFS) and runs,
// through the sqlite-wasm adapter, what the page's driver asks: statements, and transactions opened and ended by
// message, so the adapter's own transaction (BEGIN IMMEDIATE … COMMIT or ROLLBACK) is what runs.
import sqlite3InitModule from "@sqlite.org/sqlite-wasm";
import type { SqlExecutor, SqliteDriver, SqlValue } from "../src/driver.js";
import { sqliteWasmDriver } from "../src/sqlite-wasm.js";

export interface Request {
  readonly id: number;
  readonly op: "open" | "execute" | "begin" | "commit" | "rollback" | "close" | "vfs";
  readonly db?: number;
  readonly file?: string;
  readonly sql?: string;
  readonly params?: SqlValue[];
}

const sqlite3 = await sqlite3InitModule();
const pool = await sqlite3.installOpfsSAHPoolVfs({ name: "hokan-test", initialCapacity: 16 });

interface Open {
  readonly driver: SqliteDriver;
  tx?:
    | {
        readonly executor: SqlExecutor;
        readonly end: (commit: boolean) => void;
        readonly done: Promise<unknown>;
      }
    | undefined;
}
const open = new Map<number, Open>();
const ROLLBACK = new Error("rolled back as asked");

async function handle(r: Request): Promise<unknown> {
  const o = r.db === undefined ? undefined : open.get(r.db);
  switch (r.op) {
    case "vfs":
      return { files: pool.getFileNames().length, vfs: pool.vfsName };
    case "open":
      // Each database and its journal take a slot of the pool: room is added as the suite opens more.
      if (Number(pool.getCapacity()) - Number(pool.getFileCount()) < 4) await pool.addCapacity(16);
      open.set(r.db as number, { driver: sqliteWasmDriver(new pool.OpfsSAHPoolDb(r.file as string)) });
      return null;
    case "execute":
      return (o?.tx?.executor ?? (o as Open).driver).execute(r.sql as string, r.params);
    case "begin": {
      const target = o as Open;
      await new Promise<void>((resolve, reject) => {
        const done: Promise<unknown> = target.driver.transaction(async (tx) => {
          const commit = await new Promise<boolean>((end) => {
            target.tx = { executor: tx, end, done };
            resolve();
          });
          if (!commit) throw ROLLBACK;
        });
        // BEGIN itself failed (the work never ran); later outcomes are the commit's to report.
        done.catch(reject);
      });
      return null;
    }
    case "commit":
    case "rollback": {
      const target = o as Open;
      const tx = target.tx;
      target.tx = undefined;
      tx?.end(r.op === "commit");
      try {
        await tx?.done;
      } catch (error) {
        if (error !== ROLLBACK) throw error;
      }
      return null;
    }
    case "close":
      await (o as Open).driver.close();
      open.delete(r.db as number);
      return null;
  }
}

self.onmessage = async (event: MessageEvent<Request>) => {
  const r = event.data;
  try {
    self.postMessage({ id: r.id, result: await handle(r) });
  } catch (error) {
    const e = error as { message?: string; code?: unknown; resultCode?: unknown };
    self.postMessage({
      id: r.id,
      error: { message: String(e?.message ?? error), code: e?.code ?? e?.resultCode },
    });
  }
};
self.postMessage({ ready: true });
