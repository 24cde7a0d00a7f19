import { runTransportTests, TRANSPORT_TEST_REGISTRY } from "@hokan/core/conformance";
import { afterAll } from "vitest";
import { type DatabaseKind, freshDatabase, type RunningServer, startServer } from "./fixtures.js";

const HEARTBEAT_MS = 300;

for (const kind of ["pglite", "postgres"] as DatabaseKind[]) {
  // One server per database kind: every test uses accounts of its own, so they cannot see each other.
  let running: Promise<{ server: RunningServer; drop: () => Promise<void> }> | undefined;
  const shared = () => {
    running ??= freshDatabase(kind).then(async ({ db, drop }) => ({
      server: await startServer(db, TRANSPORT_TEST_REGISTRY, { liveHeartbeatMs: HEARTBEAT_MS }),
      drop: async () => {
        await db.close();
        await drop();
      },
    }));
    return running;
  };
  afterAll(async () => {
    if (!running) return;
    const { server, drop } = await running;
    await server.close();
    await drop();
  });

  // The live channel both ways a client can listen: a stream of server-sent events, and long polls (a `fetch` that
  // cannot stream, as React Native's), whose wait is their heartbeat. Every rule of the suite holds for both.
  for (const mode of ["stream", "poll"] as const) {
    runTransportTests(`HTTP server on ${kind}, live channel as ${mode}`, async () => {
      const { server } = await shared();
      return {
        liveHeartbeatMs: HEARTBEAT_MS,
        connect: (accountId, options) =>
          server.client(accountId, options?.entitled === false ? { entitled: false } : {}, {
            live: { mode, waitMs: HEARTBEAT_MS },
          }),
        teardown: async () => undefined,
      };
    });
  }
}
