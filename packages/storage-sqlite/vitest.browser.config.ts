import { playwright } from "@vitest/browser-playwright";
import { defineConfig } from "vitest/config";
import { CHROMIUM } from "../../vitest.shared.js";

// The store in real Chromium, on SQLite compiled to WebAssembly over the origin private file system (Debian's
// /usr/bin/chromium; nothing downloads a browser).
export default defineConfig({
  resolve: { conditions: ["hokan-source"] },
  // sqlite-wasm finds its .wasm next to its own module: it must be served as it ships, not pre-bundled.
  optimizeDeps: { exclude: ["@sqlite.org/sqlite-wasm"] },
  worker: { format: "es" },
  test: {
    include: ["test/**/*.browser.test.ts"],
    testTimeout: 60_000,
    browser: {
      enabled: true,
      headless: true,
      provider: playwright({
        launchOptions: { executablePath: CHROMIUM.executablePath, args: [...CHROMIUM.args] },
      }),
      instances: [{ browser: "chromium" }],
    },
  },
});
