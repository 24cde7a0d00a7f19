import type { AddressInfo } from "node:net";
import { type RegistryEntry, randomId, systemRuntime } from "@hokan/core";
import { createHttpTransport, type HttpTransportOptions } from "@hokan/transport";
import { afterEach } from "vitest";
import {
  buildServer,
  createVerifier,
  type Database,
  type HokanServer,
  migrate,
  parseRegistry,
  type ServerOptions,
  signDevelopmentToken,
} from "../src/index.js";
import { scratchDatabase } from "../src/testing.js";

export const SECRET = "hokan-test-secret-at-least-32-characters!";

export type DatabaseKind = "pglite" | "postgres";

/** The NATS server the tests use (`.ci/run` installs and starts one where it is missing). */
export const NATS_URL = process.env.HOKAN_TEST_NATS_URL ?? "nats://127.0.0.1:4222";

/** A fresh database of the kind: PGlite in memory, or a new PostgreSQL database dropped afterwards. */
export async function freshDatabase(
  kind: DatabaseKind,
): Promise<{ db: Database; url?: string; drop: () => Promise<void> }> {
  const scratch = await scratchDatabase(kind, { prefix: "hokan_test" });
  // Callers close the database themselves first; drop() copes with that.
  return { db: scratch.db, ...(scratch.url ? { url: scratch.url } : {}), drop: () => scratch.drop() };
}

/** A running server on 127.0.0.1 and a way to connect clients to it. */
export interface RunningServer {
  readonly url: string;
  readonly server: HokanServer;
  readonly db: Database;
  token(
    account: string,
    claims?: { entitled?: boolean; apps?: readonly string[]; device?: boolean; expiresIn?: string },
  ): Promise<string>;
  client(
    account: string,
    claims?: { entitled?: boolean; apps?: readonly string[]; device?: boolean },
    transport?: Partial<HttpTransportOptions>,
  ): ReturnType<typeof createHttpTransport>;
  close(): Promise<void>;
}

export async function startServer(
  db: Database,
  registry: readonly RegistryEntry[],
  extra: Partial<ServerOptions> = {},
): Promise<RunningServer> {
  await migrate(db);
  const server = await buildServer({
    db,
    registry: parseRegistry({ apps: registry }),
    verify: await createVerifier({ secret: SECRET }),
    rateLimit: { perSecond: 10_000, burst: 10_000 },
    ...extra,
  });
  await server.app.listen({ host: "127.0.0.1", port: 0 });
  const { port } = server.app.server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const token: RunningServer["token"] = (account, claims = {}) =>
    signDevelopmentToken(SECRET, { account, ...claims });
  return {
    url,
    server,
    db,
    token,
    client: (account, claims = {}, transport = {}) =>
      createHttpTransport({ ...transport, baseUrl: url, token: () => token(account, claims) }),
    close: () => server.app.close(),
  };
}

/**
 * Servers for the tests of a suite: each `start` opens a fresh database of the kind (its connection given to `wrap`
 * first, to stand between the server and it) and a server on it, with the suite's registry or its own; both go after
 * each test.
 */
export function serversPerTest(kind: DatabaseKind, registry: readonly RegistryEntry[]) {
  const running: { s: RunningServer; drop: () => Promise<void> }[] = [];
  afterEach(async () => {
    for (const { s, drop } of running.splice(0)) {
      await s.close();
      await drop();
    }
  });
  return async (
    extra: Partial<ServerOptions> = {},
    own: { wrap?: (db: Database) => Database; registry?: readonly RegistryEntry[] } = {},
  ) => {
    const { db, drop } = await freshDatabase(kind);
    const s = await startServer(own.wrap ? own.wrap(db) : db, own.registry ?? registry, extra);
    running.push({
      s,
      drop: async () => {
        await db.close().catch(() => undefined);
        await drop();
      },
    });
    return s;
  };
}

/**
 * A pushed change as the wire carries it: a new document of `settings` at epoch 1, unless `extra` says otherwise.
 * Without `data` (`undefined`) it carries none: a patch, given in `extra`.
 */
export const change = <D>(id: string, data: D, extra: Record<string, unknown> = {}) => ({
  collection: "settings",
  id,
  changeId: `c-${randomId(systemRuntime)}`,
  epoch: 1,
  baseRev: 0,
  hlc: "000000000000001:000000:x",
  ...(data === undefined ? {} : { data }),
  ...extra,
});
