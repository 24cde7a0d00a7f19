/**
 * RxDB 17's own replication (`replicateRxCollection`) against a minimal server that keeps RxDB's documented pull/push
 * semantics (checkpoint = last `updatedAt` + id; a push row conflicts when the assumed master state's `updatedAt` is
 * not the stored one; a pull stream over SSE), on the same PostgreSQL as Hokan, served by Fastify on 127.0.0.1.
 */
import { EventEmitter } from "node:events";
import type { AddressInfo } from "node:net";
import { canonicalJson } from "@hokan/core";
import { scratchDatabase } from "@hokan/server/testing";
import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import Fastify, { type FastifyInstance } from "fastify";
import pg from "pg";
import type { RxStorage, WithDeleted } from "rxdb";
import { type RxReplicationState, replicateRxCollection } from "rxdb/plugins/replication";
import { getRxStorageDexie } from "rxdb/plugins/storage-dexie";
import { getRxStorageMemory } from "rxdb/plugins/storage-memory";
import { filter, firstValueFrom, Subject } from "rxjs";
import { type Checkpoint, openRxCollection, type Row, rxEndpoints } from "./rxdb-schema.js";
import {
  BATCH,
  doc,
  docId,
  PULL_MAX,
  type SystemUnderTest,
  sampleLive,
  timed,
  until,
  WRITE_CHUNK,
} from "./workload.js";

/** A strictly rising client clock for `updatedAt` (two writes in one millisecond must still differ). */
let lastStamp = 0;
const stamp = () => {
  lastStamp = Math.max(Date.now(), lastStamp + 1);
  return lastStamp;
};

/** The minimal RxDB server, listening on 127.0.0.1. */
export interface RxServer {
  readonly base: string;
  close(): Promise<void>;
}

/**
 * Starts the minimal server on a scratch PostgreSQL database; `routes` adds routes before it listens (the browser
 * benchmark serves its page from it, so the page's requests are same-origin).
 */
export async function startRxServer(routes?: (app: FastifyInstance) => void): Promise<RxServer> {
  const { url: dbUrl, drop, db } = await scratchDatabase("postgres", { prefix: "hokan_bench" });
  await db.close();
  const pool = new pg.Pool({ connectionString: dbUrl, max: 4 });
  pool.on("error", () => undefined);
  await pool.query(`CREATE TABLE rx_docs (account text, id text, updated_at double precision, data jsonb,
    PRIMARY KEY (account, id))`);
  await pool.query("CREATE INDEX rx_feed ON rx_docs (account, updated_at, id)");
  const changes = new EventEmitter();
  changes.setMaxListeners(0);

  const app = Fastify({ bodyLimit: 64 * 2 ** 20, forceCloseConnections: true });
  app.get<{ Params: { account: string }; Querystring: { id?: string; updatedAt?: string; limit?: string } }>(
    "/:account/pull",
    async (req) => {
      const id = req.query.id ?? "";
      const after = Number(req.query.updatedAt ?? -1);
      const { rows } = await pool.query<{ data: Row }>(
        `SELECT data FROM rx_docs WHERE account = $1 AND (updated_at, id) > ($2, $3)
         ORDER BY updated_at, id LIMIT $4`,
        [req.params.account, after, id, Number(req.query.limit ?? BATCH)],
      );
      const documents = rows.map((r) => r.data);
      const last = documents.at(-1);
      return {
        documents,
        checkpoint: last ? { id: last.id, updatedAt: last.updatedAt } : { id, updatedAt: after },
      };
    },
  );
  app.post<{ Params: { account: string }; Body: { assumedMasterState?: Row; newDocumentState: Row }[] }>(
    "/:account/push",
    async (req) => {
      const account = req.params.account;
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const ids = req.body.map((r) => r.newDocumentState.id);
        const { rows } = await client.query<{ id: string; data: Row }>(
          "SELECT id, data FROM rx_docs WHERE account = $1 AND id = ANY($2) FOR UPDATE",
          [account, ids],
        );
        const master = new Map(rows.map((r) => [r.id, r.data]));
        const conflicts: Row[] = [];
        const writes: Row[] = [];
        for (const row of req.body) {
          const real = master.get(row.newDocumentState.id);
          if (real && (!row.assumedMasterState || row.assumedMasterState.updatedAt !== real.updatedAt)) {
            conflicts.push(real);
          } else {
            writes.push(row.newDocumentState);
            master.set(row.newDocumentState.id, row.newDocumentState);
          }
        }
        if (writes.length) {
          await client.query(
            `INSERT INTO rx_docs (account, id, updated_at, data)
             SELECT $1, w.id, w.updated_at, w.data::jsonb FROM unnest($2::text[], $3::float8[], $4::text[]) AS w(id, updated_at, data)
             ON CONFLICT (account, id) DO UPDATE SET updated_at = EXCLUDED.updated_at, data = EXCLUDED.data`,
            [
              account,
              writes.map((w) => w.id),
              writes.map((w) => w.updatedAt),
              writes.map((w) => JSON.stringify(w)),
            ],
          );
        }
        await client.query("COMMIT");
        if (writes.length) {
          const last = writes.reduce((a, b) => (b.updatedAt > a.updatedAt ? b : a));
          changes.emit(account, {
            documents: writes,
            checkpoint: { id: last.id, updatedAt: last.updatedAt },
          });
        }
        return conflicts;
      } catch (error) {
        await client.query("ROLLBACK");
        throw error;
      } finally {
        client.release();
      }
    },
  );
  app.get<{ Params: { account: string } }>("/:account/pullStream", (req, reply) => {
    reply.raw.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    reply.raw.write(": open\n\n");
    const send = (event: unknown) => reply.raw.write(`data: ${JSON.stringify(event)}\n\n`);
    changes.on(req.params.account, send);
    req.raw.on("close", () => changes.off(req.params.account, send));
  });
  routes?.(app);
  await app.listen({ host: "127.0.0.1", port: 0 });
  return {
    base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    async close() {
      await app.close();
      await pool.end();
      await drop();
    },
  };
}

/** `stream: false`: RxDB's replication without its live pull stream (it still pushes as changes are written). */
export async function rxdb(options: {
  storage: "memory" | "dexie";
  stream?: boolean;
}): Promise<SystemUnderTest> {
  const server = await startRxServer();
  const base = server.base;

  const storage = (): RxStorage<unknown, unknown> =>
    (options.storage === "memory"
      ? getRxStorageMemory()
      : getRxStorageDexie({ indexedDB: new IDBFactory(), IDBKeyRange })) as RxStorage<unknown, unknown>;
  let devices = 0;
  let accounts = 0;

  /** One device: its own RxDB database and collection; replication started with {@link Device.online}. */
  async function device(account: string) {
    const { database, collection } = await openRxCollection(`bench${devices++}`, storage());
    let replication: RxReplicationState<Row, Checkpoint> | undefined;
    let stream: AbortController | undefined;
    return {
      collection,
      async online() {
        const stream$ = new Subject<{ documents: WithDeleted<Row>[]; checkpoint: Checkpoint } | "RESYNC">();
        if (options.stream !== false) {
          stream = new AbortController();
          void readStream(`${base}/${account}/pullStream`, stream.signal, (e) =>
            stream$.next(e as never),
          ).catch(() => undefined);
        }
        const endpoints = rxEndpoints(base, account);
        replication = replicateRxCollection<Row, Checkpoint>({
          collection,
          replicationIdentifier: `bench-${account}`,
          live: true,
          retryTime: 100,
          pull: {
            ...endpoints.pull,
            ...(options.stream !== false ? { stream$: stream$.asObservable() } : {}),
          },
          push: endpoints.push,
        });
        replication.error$.subscribe((e) => console.error("rxdb replication error", e));
        await replication.awaitInitialReplication();
        await replication.awaitInSync();
      },
      async offline() {
        stream?.abort();
        await replication?.cancel();
        replication = undefined;
      },
      inSync: () => replication?.awaitInSync(),
      async writeAll(n: number, version = 0) {
        for (let b = 0; b < n; b += WRITE_CHUNK) {
          const rows: Row[] = [];
          for (let i = b; i < Math.min(n, b + WRITE_CHUNK); i++)
            rows.push({ id: docId(i), updatedAt: stamp(), ...doc(i, version) });
          await collection.bulkUpsert(rows);
        }
      },
      async snapshot() {
        const docs = await collection.find().exec();
        // Key order is not kept by every store (PostgreSQL's jsonb sorts keys): compare canonical JSON.
        return canonicalJson(docs.map((d) => d.toJSON()).sort((a, b) => (a.id < b.id ? -1 : 1)));
      },
      async close() {
        stream?.abort();
        await replication?.cancel();
        await database.remove();
      },
    };
  }

  return {
    name: "RxDB replication",
    config: `RxDB 17 ${options.storage === "memory" ? "memory storage" : "Dexie storage on fake-indexeddb"}, replicateRxCollection, pushes of ${BATCH}, pulls of ${PULL_MAX}; minimal Fastify server on PostgreSQL`,
    scenarios: {
      async push(n) {
        const d = await device(`push-${accounts++}`);
        await d.writeAll(n);
        const seconds = await timed(() => d.online());
        await d.close();
        return { seconds };
      },
      async restore(n) {
        const account = `restore-${accounts++}`;
        const seeder = await device(account);
        await seeder.writeAll(n);
        await seeder.online();
        await seeder.close();
        const d = await device(account);
        const seconds = await timed(() => d.online());
        const got = await d.collection.count().exec();
        await d.close();
        if (got !== n) throw new Error(`restored ${got} of ${n}`);
        return { seconds };
      },
      async live() {
        const account = `live-${accounts++}`;
        const a = await device(account);
        const b = await device(account);
        await a.online();
        await b.online();
        const result = await sampleLive(
          (id) => firstValueFrom(b.collection.$.pipe(filter((e) => e.documentId === id))),
          (i, id) => a.collection.upsert({ id, updatedAt: stamp(), ...doc(i) }),
        );
        await a.close();
        await b.close();
        return result;
      },
      async conflict(n) {
        const account = `conflict-${accounts++}`;
        const a = await device(account);
        const b = await device(account);
        await a.writeAll(n);
        await a.online();
        await b.online();
        await a.offline();
        await b.offline();
        await a.writeAll(n, 1);
        await b.writeAll(n, 2);
        let converged = false;
        const seconds = await timed(async () => {
          await Promise.all([a.online(), b.online()]);
          await until("convergence", async () => {
            await Promise.all([a.inSync(), b.inSync()]);
            converged = (await a.snapshot()) === (await b.snapshot());
            return converged;
          });
        });
        await a.close();
        await b.close();
        return { seconds, converged };
      },
    },
    close: () => server.close(),
  };
}

/** Reads a server-sent event stream with fetch and hands each `data:` payload to `onEvent`. */
async function readStream(
  url: string,
  signal: AbortSignal,
  onEvent: (event: unknown) => void,
): Promise<void> {
  const res = await fetch(url, { signal });
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of frame.split("\n")) if (line.startsWith("data: ")) onEvent(JSON.parse(line.slice(6)));
    }
  }
}
