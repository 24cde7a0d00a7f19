import { parseArgs } from "node:util";
import { buildServer } from "./app.js";
import { type AuthOptions, createVerifier, signDevelopmentToken } from "./auth.js";
import { natsBus } from "./bus.js";
import { type CorsOptions, parseOrigins } from "./cors.js";
import { type Database, openPGlite, openPostgres } from "./database.js";
import { serveMetrics } from "./metrics.js";
import { migrate } from "./migrations.js";
import { loadRegistry, RegistryError } from "./registry.js";

const HELP = `hokan-server: the Hokan backup server

Usage: hokan-server [options]

  --port <n>              port to listen on (default 8787; 0 picks a free one)
  --host <addr>           address to bind (default 127.0.0.1)
  --data-dir <dir>        embedded PGlite database directory (the default: ./hokan-data)
  --database-url <url>    PostgreSQL instead of PGlite, e.g. postgres://user@127.0.0.1:5432/hokan
  --listen-database-url <url>
                          a direct connection to the database for LISTEN, when --database-url goes through a
                          transaction-pooling PgBouncer (LISTEN needs a session of its own; not needed with --bus nats)
  --registry <file>       the registry of supported apps (JSON; required)
  --jwt-secret <secret>   HS256 secret, 32+ characters (development), or HOKAN_JWT_SECRET
  --jwt-public-key <file> ES256 public key (PEM) for production tokens
  --jwks <file|url>       ES256 keys as a JWKS, a file or the identity provider's https URL (keys rotate)
  --jwt-issuer <iss>      require this issuer (iss) in every token
  --jwt-audience <aud>    require this audience (aud) in every token
  --request-timeout-ms <n>
                          time a client has to send a whole request (default 30000)
  --live-per-account <n>  live channels one account may hold open on a process (default 100)
  --rate-limit <r>/<b>    requests per second per account, with bursts of up to b (default 50/200); requests
                          whose token fails are limited the same per client address
  --quota-bytes <n>       bytes each account may keep per app
  --body-limit <n>        largest request body in bytes (default 8 MiB)
  --cors-origins <list>   web origins whose pages may call the server, comma-separated
                          (https://app.example.com,http://localhost:5173), or * for any;
                          or HOKAN_CORS_ORIGINS (default: none, only the server's own origin)
  --live-heartbeat-ms <n> heartbeat on live channels, announced to clients (default 15000; at least 1000),
                          or HOKAN_LIVE_HEARTBEAT_MS: keep it under any proxy's idle timeout
  --bus <url>             how server processes tell each other of changes: postgres (the default: LISTEN/NOTIFY on the
                          database) or nats://127.0.0.1:4222 (a subject per account: each process receives only the
                          notices of its own live channels' accounts)
  --drain-ms <n>          on SIGTERM, time requests in flight have to finish before their connections are cut
                          (default 10000); live channels end at once, telling clients to reconnect
  --metrics-port <n>      serve Prometheus metrics at http://<host>:<n>/metrics (default: not served)
  --dev-token <account>   print a development token for the account (needs --jwt-secret) and exit
  --help                  this text

Logs are JSON lines on stdout. Stop with SIGINT or SIGTERM (a second one exits at once). GET /v1/health says the
process is alive; GET /v1/ready answers 503 while it stops or cannot reach its database.
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "8787" },
      host: { type: "string", default: "127.0.0.1" },
      "data-dir": { type: "string" },
      "database-url": { type: "string" },
      "listen-database-url": { type: "string" },
      registry: { type: "string" },
      "jwt-secret": { type: "string" },
      "jwt-public-key": { type: "string" },
      jwks: { type: "string" },
      "jwt-issuer": { type: "string" },
      "jwt-audience": { type: "string" },
      "request-timeout-ms": { type: "string" },
      "live-per-account": { type: "string" },
      "rate-limit": { type: "string" },
      "quota-bytes": { type: "string" },
      "body-limit": { type: "string" },
      "cors-origins": { type: "string" },
      "live-heartbeat-ms": { type: "string" },
      bus: { type: "string" },
      "drain-ms": { type: "string" },
      "metrics-port": { type: "string" },
      "dev-token": { type: "string" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const secret = values["jwt-secret"] ?? process.env.HOKAN_JWT_SECRET;
  if (values["dev-token"]) {
    if (!secret) fail("--dev-token needs --jwt-secret (or HOKAN_JWT_SECRET)");
    process.stdout.write(
      `${await signDevelopmentToken(secret as string, { account: values["dev-token"], expiresIn: "30d" })}\n`,
    );
    return;
  }
  if (!values.registry) fail("--registry <file> is required (see --help)");
  let auth: AuthOptions;
  const claims = {
    ...(values["jwt-issuer"] ? { issuer: values["jwt-issuer"] } : {}),
    ...(values["jwt-audience"] ? { audience: values["jwt-audience"] } : {}),
  };
  const { readFile } = await import("node:fs/promises");
  if (values.jwks) {
    const where = values.jwks;
    if (/^https?:\/\//.test(where)) {
      auth = { jwksUrl: where, ...claims };
    } else {
      const text = await readFile(where, "utf8").catch((e: unknown) => fail(`--jwks: ${String(e)}`));
      try {
        auth = { jwks: JSON.parse(text), ...claims };
      } catch (e) {
        fail(`--jwks: ${where} is not a JSON Web Key Set (${(e as Error).message})`);
      }
    }
  } else if (values["jwt-public-key"]) {
    auth = { publicKeyPem: await readFile(values["jwt-public-key"], "utf8"), ...claims };
  } else if (secret) {
    auth = { secret, ...claims };
  } else {
    fail("give --jwks <file|url> or --jwt-public-key <file> (production), or --jwt-secret (development)");
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    fail(`--port must be 0 to 65535, not ${values.port}`);

  const heartbeatText = values["live-heartbeat-ms"] ?? process.env.HOKAN_LIVE_HEARTBEAT_MS;
  const heartbeat = heartbeatText === undefined ? undefined : Number(heartbeatText);
  if (heartbeat !== undefined && (!Number.isInteger(heartbeat) || heartbeat < 1000 || heartbeat > 600_000))
    fail(`--live-heartbeat-ms must be a whole number of ms from 1000 to 600000, not ${heartbeatText}`);

  const whole = (name: string, min: number, max: number): number | undefined => {
    const text = values[name as keyof typeof values] as string | undefined;
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max)
      fail(`--${name} must be a whole number from ${min} to ${max}, not ${text}`);
    return n;
  };
  const requestTimeout = whole("request-timeout-ms", 1000, 600_000);
  const livePerAccount = whole("live-per-account", 1, 100_000);
  const drainMs = whole("drain-ms", 0, 600_000) ?? 10_000;
  const metricsPort = whole("metrics-port", 0, 65535);
  let rateLimit: { perSecond: number; burst: number } | undefined;
  if (values["rate-limit"] !== undefined) {
    const m = /^(\d+(?:\.\d+)?)\/(\d+)$/.exec(values["rate-limit"]);
    const perSecond = Number(m?.[1]);
    const burst = Number(m?.[2]);
    if (!m || !(perSecond > 0) || perSecond > 1_000_000 || burst < 1 || burst > 1_000_000)
      fail(
        `--rate-limit must be <per second>/<burst>, e.g. 50/200, both above 0, not ${values["rate-limit"]}`,
      );
    rateLimit = { perSecond, burst };
  }

  const corsList = values["cors-origins"] ?? process.env.HOKAN_CORS_ORIGINS;
  let cors: CorsOptions | undefined;
  try {
    cors = corsList === undefined ? undefined : { origins: parseOrigins(corsList) };
  } catch (e) {
    fail(`--cors-origins: ${(e as Error).message}`);
  }

  const busText = values.bus ?? "postgres";
  if (busText !== "postgres" && !/^nats:\/\/[^\s/]+$/.test(busText))
    fail(`--bus must be postgres or nats://host:port, not ${busText}`);

  if (values["listen-database-url"] && !values["database-url"])
    fail("--listen-database-url goes with --database-url (PGlite listens in its own process)");

  const registry = await loadRegistry(values.registry as string).catch((e: unknown) =>
    fail(e instanceof RegistryError ? e.message : String(e)),
  );
  const db: Database = values["database-url"]
    ? await openPostgres(values["database-url"], 10, {
        ...(values["listen-database-url"] ? { listenUrl: values["listen-database-url"] } : {}),
      }).catch((e: unknown) => fail(`cannot connect to PostgreSQL: ${String(e)}`))
    : await openPGlite(values["data-dir"] ?? "./hokan-data");
  await migrate(db);
  const bus =
    busText === "postgres"
      ? undefined
      : await natsBus(busText).catch((e: unknown) =>
          fail(`cannot connect to NATS at ${busText}: ${String(e)}`),
        );
  const server = await buildServer({
    ...(bus ? { bus } : {}),
    db,
    registry,
    verify: await createVerifier(auth as AuthOptions),
    logger: { level: process.env.HOKAN_LOG_LEVEL ?? "info" },
    ...(values["quota-bytes"] ? { quotaBytes: Number(values["quota-bytes"]) } : {}),
    ...(values["body-limit"] ? { bodyLimit: Number(values["body-limit"]) } : {}),
    ...(cors ? { cors } : {}),
    ...(heartbeat === undefined ? {} : { liveHeartbeatMs: heartbeat }),
    ...(requestTimeout === undefined ? {} : { requestTimeoutMs: requestTimeout }),
    ...(livePerAccount === undefined ? {} : { maxLiveChannelsPerAccount: livePerAccount }),
    ...(rateLimit === undefined ? {} : { rateLimit }),
    processMetrics: metricsPort !== undefined,
  });
  const address = await server.app.listen({ host: values.host, port });
  server.app.log.info(
    { address, database: db.kind, bus: bus?.kind ?? "postgres", apps: registry.entries.length },
    "hokan-server listening",
  );
  const metrics =
    metricsPort === undefined ? undefined : await serveMetrics(server.metrics, values.host, metricsPort);
  if (metrics) server.app.log.info({ address: metrics.url }, "metrics served");
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      server.app.log.warn({ signal }, "stopped at once");
      process.exit(1);
    }
    stopping = true;
    server.app.log.info({ signal, drainMs }, "stopping: live channels end, requests in flight may finish");
    const { elapsedMs, cut } = await server.drain(drainMs);
    await metrics?.close();
    await db.close();
    server.app.log.info({ elapsedMs: Math.round(elapsedMs), cut }, "hokan-server stopped");
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

function fail(message: string): never {
  process.stderr.write(`hokan-server: ${message}\n`);
  process.exit(2);
}

main().catch((error: unknown) => fail(String((error as Error)?.stack ?? error)));
