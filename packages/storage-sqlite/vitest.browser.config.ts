import { playwright } from "@vitest/browser-playwright";
import { browserConfig } from "../../vitest.shared.js";

// The store in real Chromium, on SQLite compiled to WebAssembly over the origin private file system.
export default browserConfig(playwright, {
  // sqlite-wasm finds its .wasm next to its own module: it must be served as it ships, not pre-bundled.
  optimizeDeps: { exclude: ["@sqlite.org/sqlite-wasm"] },
  worker: { format: "es" },
  test: { testTimeout: 60_000 },
});
