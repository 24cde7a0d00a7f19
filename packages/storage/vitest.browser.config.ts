import { playwright } from "@vitest/browser-playwright";
import { defineConfig } from "vitest/config";
import { CHROMIUM } from "../../vitest.shared.js";

// The conformance suite in real Chromium (Debian's /usr/bin/chromium; nothing downloads a browser).
export default defineConfig({
  resolve: { conditions: ["hokan-source"] },
  test: {
    include: ["test/**/*.browser.test.ts"],
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
