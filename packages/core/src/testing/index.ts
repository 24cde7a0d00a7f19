export { type LocalStoreSetup, runLocalStoreTests } from "./local-store-tests.js";
export { flushMicrotasks, ManualRuntime } from "./manual-runtime.js";
export { type Credentials, MemoryServer, type MemoryServerOptions } from "./memory-server.js";
export { MemoryStore } from "./memory-store.js";
export { Prng } from "./prng.js";
export { BAD_NETWORK, type Faults, NO_FAULTS, type SimLink, SimNetwork } from "./sim-network.js";
export {
  openRegistry,
  type SimApp,
  SimDevice,
  type SimDeviceOptions,
  SimWorld,
  type SimWorldOptions,
} from "./simulation.js";
export { runTransportTests, TRANSPORT_TEST_REGISTRY, type TransportSetup } from "./transport-tests.js";
