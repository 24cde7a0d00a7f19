/**
 * Test doubles that need no test runner: an in-memory store and server sharing the real server's rules, a manual
 * clock, a simulated network and world. The conformance suites, which need vitest, are `@hokan/core/conformance`.
 *
 * @module
 */
export { flushMicrotasks, ManualRuntime } from "./manual-runtime.js";
export { type Credentials, MemoryServer, type MemoryServerOptions } from "./memory-server.js";
export { MemoryStore } from "./memory-store.js";
export { Prng } from "./prng.js";
export { TRANSPORT_TEST_REGISTRY } from "./registry.js";
export { BAD_NETWORK, type Faults, NO_FAULTS, type SimLink, SimNetwork } from "./sim-network.js";
export {
  openRegistry,
  type SimApp,
  SimDevice,
  type SimDeviceOptions,
  SimWorld,
  type SimWorldOptions,
} from "./simulation.js";
