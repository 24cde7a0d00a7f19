/**
 * PouchDB 9 (memory adapter) replicating over HTTP to express-pouchdb (CouchDB's HTTP API, PouchDB memory adapter
 * behind it) on 127.0.0.1: CouchDB's replication protocol, batches of 500.
 */
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { canonicalJson } from "@hokan/core";
import {
  BATCH,
  doc,
  docId,
  type SystemUnderTest,
  sampleLive,
  timed,
  until,
  WRITE_CHUNK,
} from "./workload.js";

const require = createRequire(import.meta.url);

interface PouchDoc {
  _id: string;
  _rev?: string;
  [key: string]: unknown;
}
// PouchDB ships no types of its own; this is the part of its API the benchmark uses.
interface Pouch {
  bulkDocs(docs: PouchDoc[]): Promise<unknown>;
  allDocs(options: { include_docs: boolean }): Promise<{ rows: { id: string; doc?: PouchDoc }[] }>;
  info(): Promise<{ doc_count: number }>;
  put(doc: PouchDoc): Promise<unknown>;
  get(id: string): Promise<PouchDoc>;
  changes(options: { since: "now"; live: true }): {
    on(event: "change", fn: (c: { id: string }) => void): unknown;
    cancel(): void;
  };
  replicate: {
    to(target: Pouch, options: { batch_size: number }): Promise<{ docs_written: number }>;
    from(source: Pouch, options: { batch_size: number }): Promise<{ docs_written: number }>;
  };
  sync(target: Pouch, options: { live: true; retry: true; batch_size: number }): { cancel(): void };
  destroy(): Promise<void>;
  close(): Promise<void>;
}
type PouchConstructor = (new (
  name: string,
  options?: Record<string, unknown>,
) => Pouch) & {
  plugin(p: unknown): PouchConstructor;
  defaults(o: Record<string, unknown>): PouchConstructor;
};

export async function pouchdb(): Promise<SystemUnderTest> {
  const PouchDB = (require("pouchdb-core") as PouchConstructor)
    .plugin(require("pouchdb-adapter-memory"))
    .plugin(require("pouchdb-adapter-http"))
    .plugin(require("pouchdb-replication"))
    .plugin(require("pouchdb-mapreduce"));
  const MemoryPouch = PouchDB.defaults({ adapter: "memory" });
  const express = require("express") as () => {
    use(path: string, handler: unknown): void;
    listen(port: number, host: string, cb: () => void): import("node:http").Server;
  };
  const expressPouchDB = require("express-pouchdb") as (p: unknown, o: Record<string, unknown>) => unknown;
  const app = express();
  app.use(
    "/",
    expressPouchDB(MemoryPouch, { mode: "minimumForPouchDB", inMemoryConfig: true, logPath: "/dev/null" }),
  );
  const server = await new Promise<import("node:http").Server>((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let devices = 0;
  let accounts = 0;
  const remote = (account: string) => new PouchDB(`${base}/${account}`);

  function device() {
    const local = new MemoryPouch(`device-${devices++}`);
    return {
      local,
      async writeAll(n: number, version = 0) {
        const existing = new Map((await local.allDocs({ include_docs: false })).rows.map((r) => [r.id, r]));
        for (let b = 0; b < n; b += WRITE_CHUNK) {
          const docs: PouchDoc[] = [];
          for (let i = b; i < Math.min(n, b + WRITE_CHUNK); i++) {
            const rev = (existing.get(docId(i)) as unknown as { value?: { rev: string } } | undefined)?.value
              ?.rev;
            docs.push({ _id: docId(i), ...(rev ? { _rev: rev } : {}), ...doc(i, version) });
          }
          await local.bulkDocs(docs);
        }
      },
      async snapshot() {
        const rows = (await local.allDocs({ include_docs: true })).rows;
        return canonicalJson(rows.map((r) => r.doc));
      },
    };
  }

  return {
    name: "PouchDB → express-pouchdb",
    config: `PouchDB 9 memory adapter, replicate over HTTP (batch_size ${BATCH}) to express-pouchdb 4 (memory adapter)`,
    scenarios: {
      async push(n) {
        const d = device();
        const target = remote(`push-${accounts++}`);
        await d.writeAll(n);
        const seconds = await timed(() => d.local.replicate.to(target, { batch_size: BATCH }));
        if ((await target.info()).doc_count !== n) throw new Error("PouchDB push incomplete");
        await d.local.destroy();
        return { seconds };
      },
      async restore(n) {
        const seeder = device();
        const target = remote(`restore-${accounts++}`);
        await seeder.writeAll(n);
        await seeder.local.replicate.to(target, { batch_size: BATCH });
        await seeder.local.destroy();
        const d = device();
        const seconds = await timed(() => d.local.replicate.from(target, { batch_size: BATCH }));
        const got = (await d.local.info()).doc_count;
        await d.local.destroy();
        if (got !== n) throw new Error(`restored ${got} of ${n}`);
        return { seconds };
      },
      async live() {
        const target = remote(`live-${accounts++}`);
        const a = device();
        const b = device();
        const syncs = [
          a.local.sync(target, { live: true, retry: true, batch_size: BATCH }),
          b.local.sync(target, { live: true, retry: true, batch_size: BATCH }),
        ];
        const waiting = new Map<string, () => void>();
        const feed = b.local.changes({ since: "now", live: true });
        feed.on("change", (c) => waiting.get(c.id)?.());
        const result = await sampleLive(
          (id) => new Promise<void>((r) => waiting.set(id, r)),
          (i, id) => a.local.put({ _id: id, ...doc(i) }),
        );
        feed.cancel();
        for (const s of syncs) s.cancel();
        await a.local.destroy();
        await b.local.destroy();
        return result;
      },
      async conflict(n) {
        const target = remote(`conflict-${accounts++}`);
        const a = device();
        const b = device();
        await a.writeAll(n);
        await a.local.replicate.to(target, { batch_size: BATCH });
        await b.local.replicate.from(target, { batch_size: BATCH });
        await a.writeAll(n, 1);
        await b.writeAll(n, 2);
        let converged = false;
        const seconds = await timed(async () => {
          // Both devices push, then both pull; CouchDB's deterministic winner makes them agree.
          await Promise.all([
            a.local.replicate.to(target, { batch_size: BATCH }),
            b.local.replicate.to(target, { batch_size: BATCH }),
          ]);
          await until("convergence", async () => {
            await Promise.all([
              a.local.replicate.from(target, { batch_size: BATCH }),
              b.local.replicate.from(target, { batch_size: BATCH }),
            ]);
            converged = (await a.snapshot()) === (await b.snapshot());
            return converged;
          });
        });
        await a.local.destroy();
        await b.local.destroy();
        return { seconds, converged };
      },
    },
    async close() {
      server.closeAllConnections();
      server.close();
    },
  };
}
