/**
 * The floor's server, in a process of its own (forked by `capacity.ts`): bare `node:http` and one PostgreSQL bulk
 * upsert per batch, nothing of a sync engine, so that its CPU per document is what moving a document costs at all.
 * `POST /push?account=` `{ docs: [{ id, data }] }`; `GET /pull?account=&after=&limit=`; `GET /cpu` its CPU time (µs).
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";

const pool = new pg.Pool({ connectionString: process.env.FLOOR_DATABASE_URL, max: 10 });
pool.on("error", () => undefined);
await pool.query(
  "CREATE TABLE IF NOT EXISTS floor_docs (account_id text, id text, data jsonb, seq bigserial, PRIMARY KEY (account_id, id))",
);
await pool.query("CREATE INDEX IF NOT EXISTS floor_feed ON floor_docs (account_id, seq)");

const UPSERT = `INSERT INTO floor_docs (account_id, id, data)
  SELECT $1, d.id, d.data::jsonb FROM unnest($2::text[], $3::text[]) AS d(id, data)
  ON CONFLICT (account_id, id) DO UPDATE SET data = EXCLUDED.data, seq = nextval('floor_docs_seq_seq')`;

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  const account = url.searchParams.get("account") ?? "";
  const reply = (status: number, value: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(value));
  };
  const work = async () => {
    if (url.pathname === "/cpu") {
      const { user, system } = process.cpuUsage();
      return reply(200, { micros: user + system });
    }
    if (url.pathname === "/push" && req.method === "POST") {
      const { docs } = JSON.parse(await body(req)) as { docs: { id: string; data: unknown }[] };
      await pool.query(UPSERT, [account, docs.map((d) => d.id), docs.map((d) => JSON.stringify(d.data))]);
      return reply(200, { accepted: docs.length });
    }
    if (url.pathname === "/pull") {
      const { rows } = await pool.query(
        "SELECT id, data::text AS data, seq FROM floor_docs WHERE account_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        [account, Number(url.searchParams.get("after") ?? 0), Number(url.searchParams.get("limit") ?? 500)],
      );
      res.writeHead(200, { "content-type": "application/json" });
      // The documents' JSON as stored, spliced in: no parse and stringify of what the database already holds.
      res.end(
        `{"docs":[${rows.map((r) => `{"id":${JSON.stringify(r.id)},"seq":${r.seq},"data":${r.data}}`).join(",")}]}`,
      );
      return;
    }
    reply(404, {});
  };
  work().catch((error: unknown) => reply(500, { error: String(error) }));
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on("SIGTERM", () => {
  server.close();
  void pool.end().then(() => process.exit(0));
});
