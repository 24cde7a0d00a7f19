import { systemRuntime } from "../src/index.js";
import {
  runEngineScenarios,
  runLocalStoreTests,
  runTransportTests,
  TRANSPORT_TEST_REGISTRY,
} from "../src/testing/conformance.js";
import { MemoryServer, MemoryStore } from "../src/testing/index.js";

runLocalStoreTests(
  "MemoryStore",
  async () => {
    const store = new MemoryStore();
    return {
      store,
      reopen: async () => {
        await store.close();
        store.reopen();
        return store;
      },
      teardown: () => store.close(),
    };
  },
  { acknowledgements: true },
);

runTransportTests("MemoryServer", async () => {
  const server = new MemoryServer({
    registry: TRANSPORT_TEST_REGISTRY,
    now: () => Date.now(),
    heartbeat: { heartbeatMs: 300, timers: systemRuntime },
  });
  return {
    liveHeartbeatMs: 300,
    connect: (accountId, options) =>
      server.connect({
        accountId,
        ...(options?.entitled === undefined ? {} : { entitled: options.entitled }),
      }),
    teardown: async () => undefined,
  };
});

runEngineScenarios("MemoryStore", async () => new MemoryStore());
