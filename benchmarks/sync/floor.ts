/**
 * The floor: what moving the same documents costs with nothing of a sync engine — a bare PostgreSQL bulk upsert, and
 * bare loopback HTTP in front of it (JSON batches in, one `INSERT … SELECT FROM unnest` per batch; pages out by a
 * keyset, growing from 500 to 4,000 documents per page as Hokan's do). Each sequential (one batch at a time, like a
 * sync engine's push loop) or pipelined (four in flight).
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { scratchDatabase } from "@hokan/server/testing";
import pg from "pg";
import { pipeline } from "../harness.js";
import { BATCH, doc, docId, PULL_MAX, type SystemUnderTest, timed } from "./workload.js";

export interface FloorOptions {
  readonly db: "pglite" | "postgres";
  readonly http: boolean;
  /** Batches in flight at once (1 = sequential). */
  readonly inFlight: number;
}

const UPSERT = `INSERT INTO floor_docs (account_id, id, data, seq)
  SELECT $1, d.id, d.data::jsonb, nextval('floor_seq') FROM unnest($2::text[], $3::text[]) AS d(id, data)
  ON CONFLICT (account_id, id) DO UPDATE SET data = EXCLUDED.data, seq = EXCLUDED.seq`;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function floor(options: FloorOptions): Promise<SystemUnderTest> {
  const { db, url, drop } = await scratchDatabase(options.db, { prefix: "hokan_bench" });
  await db.query("CREATE SEQUENCE floor_seq");
  await db.query(
    "CREATE TABLE floor_docs (account_id text, id text, data jsonb, seq bigint, PRIMARY KEY (account_id, id))",
  );
  await db.query("CREATE INDEX floor_feed ON floor_docs (account_id, seq)");
  // PostgreSQL gets a pool so pipelined batches really run side by side; PGlite has one connection either way.
  const pool =
    options.db === "postgres" ? new pg.Pool({ connectionString: url, max: options.inFlight }) : undefined;
  // Dropping the scratch database ends its connections; an idle pooled one reports that as an error.
  pool?.on("error", () => undefined);
  const query = (sql: string, params: unknown[]) =>
    pool ? pool.query(sql, params).then(() => undefined) : db.query(sql, params).then(() => undefined);
  const insert = (account: string, ids: string[], data: string[]) => query(UPSERT, [account, ids, data]);

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const account = url.searchParams.get("account") ?? "";
    const reply = (body: unknown) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const fail = (error: unknown) => {
      res.writeHead(500);
      res.end(String(error));
    };
    if (req.method === "POST") {
      readBody(req)
        .then(async (text) => {
          const docs = JSON.parse(text) as { id: string; data: unknown }[];
          await insert(
            account,
            docs.map((d) => d.id),
            docs.map((d) => JSON.stringify(d.data)),
          );
          reply({ accepted: docs.length });
        })
        .catch(fail);
      return;
    }
    const after = Number(url.searchParams.get("after") ?? 0);
    const limit = Number(url.searchParams.get("limit") ?? BATCH);
    // Its best shot, as Hokan's server: each document's data as the database's JSON text, spliced in, encoded per
    // document and joined as bytes once (no parse and serialise, no rope of the whole page to flatten).
    db.query<{ id: string; data: string; seq: string }>(
      "SELECT id, data::text AS data, seq FROM floor_docs WHERE account_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
      [account, after, limit],
    )
      .then((rows) => {
        const parts = [Buffer.from('{"documents":[')];
        for (const [i, r] of rows.entries())
          parts.push(
            Buffer.from(
              `${i === 0 ? "" : ","}{"id":${JSON.stringify(r.id)},"data":${r.data},"seq":${r.seq}}`,
            ),
          );
        parts.push(Buffer.from(`],"last":${JSON.stringify(String(rows.at(-1)?.seq ?? after))}}`));
        res.writeHead(200, { "content-type": "application/json" });
        res.end(Buffer.concat(parts));
      })
      .catch(fail);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let accounts = 0;

  /** Pushes N documents of `account` in batches, over HTTP or straight into the database. */
  async function pushAll(account: string, n: number): Promise<void> {
    const tasks: (() => Promise<unknown>)[] = [];
    for (let b = 0; b < n; b += BATCH) {
      const ids = Array.from({ length: Math.min(BATCH, n - b) }, (_, k) => docId(b + k));
      tasks.push(async () => {
        if (!options.http) {
          await insert(
            account,
            ids,
            ids.map((_, k) => JSON.stringify(doc(b + k))),
          );
          return;
        }
        const res = await fetch(`${base}/docs?account=${account}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(ids.map((id, k) => ({ id, data: doc(b + k) }))),
        });
        if (!res.ok) throw new Error(`floor push failed: ${res.status} ${await res.text()}`);
        await res.json();
      });
    }
    await pipeline(tasks, options.inFlight);
  }

  const how = options.inFlight > 1 ? `pipelined ×${options.inFlight}` : "sequential";
  const dbName = options.db === "pglite" ? "PGlite" : "PostgreSQL";
  return {
    name: options.http ? "floor: bare HTTP + bulk upsert" : "floor: bare bulk upsert",
    config: `${dbName}, batches of ${BATCH}, ${how}`,
    scenarios: {
      async push(n) {
        const account = `push-${accounts++}`;
        return { seconds: await timed(() => pushAll(account, n)) };
      },
      ...(options.http
        ? {
            async restore(n: number) {
              const account = `restore-${accounts++}`;
              await pushAll(account, n);
              // Fresh statistics, as Hokan's server keeps them: else larger pages may be planned as a sort of all.
              await db.query("ANALYZE floor_docs");
              const local = new Map<string, unknown>();
              const seconds = await timed(async () => {
                // Pages grow as Hokan's do (500, doubling up to 4,000): the same round trips for both.
                for (let after = "0", limit = BATCH; ; limit = Math.min(limit * 2, PULL_MAX)) {
                  const res = await fetch(`${base}/docs?account=${account}&after=${after}&limit=${limit}`);
                  const page = (await res.json()) as {
                    documents: { id: string; data: unknown }[];
                    last: string;
                  };
                  for (const d of page.documents) local.set(d.id, d.data);
                  if (page.documents.length < limit) break;
                  after = page.last;
                }
              });
              if (local.size !== n) throw new Error(`floor restored ${local.size} of ${n}`);
              return { seconds };
            },
          }
        : {}),
    },
    async close() {
      server.close();
      await pool?.end();
      await drop();
    },
  };
}
