import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { isLiveHint, type PushChange, randomId, systemRuntime } from "@hokan/core";
import { TRANSPORT_TEST_REGISTRY } from "@hokan/core/testing";
import { createHttpTransport } from "@hokan/transport";
import pg from "pg";
import { filter, firstValueFrom, take, timeout } from "rxjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signDevelopmentToken } from "../src/index.js";
import { change, freshDatabase, SECRET } from "./fixtures.js";
import { type ServerProcess, spawnServer, writeRegistry } from "./processes.js";

/**
 * hokan-server behind a transaction-pooling PgBouncer (Debian's `pgbouncer`, which `.ci/run` installs): every query
 * and transaction through it, and LISTEN on a direct connection of its own.
 */

const SCOPE = { appId: "jp.example.mail", appVersion: "3.0.0", platform: "android" as const };
const client = (url: string, account: string) =>
  createHttpTransport({ baseUrl: url, token: () => signDevelopmentToken(SECRET, { account }) });

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The postgres user's password as `~/.pgpass` gives it for 127.0.0.1:5432 (a fresh CI cluster has one), or none. */
function postgresPassword(): string {
  try {
    const line = readFileSync(join(homedir(), ".pgpass"), "utf8")
      .split("\n")
      .find((l) => l.startsWith("127.0.0.1:5432:*:postgres:"));
    return line?.split(":").slice(4).join(":") ?? "";
  } catch {
    return "";
  }
}

describe("hokan-server behind a transaction-pooling PgBouncer", () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let bouncer: ChildProcess;
  let bouncerPort: number;
  let dir: string;
  let output = "";
  const registry = writeRegistry(TRANSPORT_TEST_REGISTRY);

  beforeAll(async () => {
    db = await freshDatabase("postgres");
    await db.db.close();
    dir = mkdtempSync(join(tmpdir(), "hokan-pgbouncer-"));
    // PgBouncer will not run as root: started so, it switches to the postgres user, who must read its files.
    chmodSync(dir, 0o755);
    bouncerPort = await freePort();
    const users = join(dir, "users.txt");
    writeFileSync(users, `"postgres" "${postgresPassword()}"\n`);
    const config = join(dir, "pgbouncer.ini");
    writeFileSync(
      config,
      [
        "[databases]",
        "* = host=127.0.0.1 port=5432",
        "[pgbouncer]",
        "listen_addr = 127.0.0.1",
        `listen_port = ${bouncerPort}`,
        "unix_socket_dir =",
        "auth_type = trust",
        `auth_file = ${users}`,
        "admin_users = postgres",
        "pool_mode = transaction",
        "default_pool_size = 4",
        "max_client_conn = 200",
        "",
      ].join("\n"),
    );
    chmodSync(users, 0o644);
    chmodSync(config, 0o644);
    const asRoot = process.getuid?.() === 0;
    bouncer = spawn("pgbouncer", [...(asRoot ? ["-u", "postgres"] : []), config], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    bouncer.stdout?.on("data", (c: Buffer) => {
      output += c.toString();
    });
    bouncer.stderr?.on("data", (c: Buffer) => {
      output += c.toString();
    });
    // Ready when it answers a query for the test's database.
    const url = `postgres://postgres@127.0.0.1:${bouncerPort}/${new URL(db.url as string).pathname.slice(1)}`;
    for (let i = 0; ; i++) {
      const c = new pg.Client({ connectionString: url });
      const ok = await c.connect().then(
        () => c.query("SELECT 1").then(() => true),
        () => false,
      );
      await c.end().catch(() => undefined);
      if (ok) break;
      if (i > 100 || bouncer.exitCode !== null) throw new Error(`pgbouncer did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 60_000);

  afterAll(async () => {
    bouncer?.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
    rmSync(registry, { force: true });
    await db?.drop();
  });

  /** Transactions PgBouncer has run for the test's database (its admin console's SHOW STATS). */
  const transactionsThroughBouncer = async (): Promise<number> => {
    const admin = new pg.Client({
      connectionString: `postgres://postgres@127.0.0.1:${bouncerPort}/pgbouncer`,
    });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ database: string; total_xact_count: string }>("SHOW STATS");
      const name = new URL(db.url as string).pathname.slice(1);
      return Number(rows.find((r) => r.database === name)?.total_xact_count ?? 0);
    } finally {
      await admin.end();
    }
  };

  it("migrates, pushes, pulls, deletes and hints a live channel across two processes, its queries through PgBouncer", async () => {
    const direct = db.url as string;
    const pooled = `postgres://postgres@127.0.0.1:${bouncerPort}/${new URL(direct).pathname.slice(1)}`;
    const args = ["--database-url", pooled, "--listen-database-url", direct, "--registry", registry];
    const servers: ServerProcess[] = [];
    try {
      servers.push(await spawnServer(args), await spawnServer(args));
      const [one, two] = servers as [ServerProcess, ServerProcess];
      const before = await transactionsThroughBouncer();
      const account = `acct-${randomId(systemRuntime)}`;
      const hint = firstValueFrom(
        client(two.url, account).live([SCOPE]).pipe(filter(isLiveHint), take(1), timeout(15_000)),
      );
      await new Promise((r) => setTimeout(r, 500));
      const key = `k-${randomId(systemRuntime)}`;
      const push = { scope: SCOPE, idempotencyKey: key, changes: [change("a", { v: 1 }) as PushChange] };
      expect((await client(one.url, account).push(push)).results[0]?.status).toBe("accepted");
      expect(await hint).toMatchObject({ type: "changed", appId: SCOPE.appId, seq: 1 });
      // A retry of the same push gets the same answer from the other process.
      expect((await client(two.url, account).push(push)).results[0]?.status).toBe("accepted");
      const pulled = await client(two.url, account).pull({
        scope: SCOPE,
        checkpoint: { epoch: 0, seq: 0 },
        limit: 10,
      });
      expect(pulled.documents.map((d) => d.data)).toEqual([{ v: 1 }]);
      const deleted = await client(one.url, account).deleteApp(SCOPE, `r-${randomId(systemRuntime)}`);
      expect(deleted.apps).toEqual([{ appId: SCOPE.appId, epoch: 2 }]);
      expect(await transactionsThroughBouncer()).toBeGreaterThan(before + 3);
    } finally {
      for (const s of servers) await s.stop();
    }
  }, 90_000);

  it("refuses a listening connection without a database to go with it", async () => {
    await expect(
      spawnServer(["--listen-database-url", db.url as string, "--registry", registry]),
    ).rejects.toThrow(/--listen-database-url goes with --database-url/);
  });
});
