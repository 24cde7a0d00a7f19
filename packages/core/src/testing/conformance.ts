/**
 * Conformance suites for a `LocalStore` or a `Transport` of your own: call one inside a vitest file and it registers
 * the tests every Hokan store or transport must pass. Needs vitest (an optional peer dependency of `@hokan/core`).
 *
 * @module
 */
export { runEngineScenarios } from "./engine-scenarios.js";
export {
  type LocalStoreSetup,
  type LocalStoreTestOptions,
  runLocalStoreTests,
} from "./local-store-tests.js";
export { TRANSPORT_TEST_REGISTRY } from "./registry.js";
export { runTransportTests, type TransportSetup } from "./transport-tests.js";
