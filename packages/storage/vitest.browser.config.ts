import { playwright } from "@vitest/browser-playwright";
import { defineConfig } from "vitest/config";

// The conformance suite in real Chromium (Debian's /usr/bin/chromium; nothing downloads a browser).
export default defineConfig({
  resolve: { conditions: ["hokan-source"] },
  test: {
    include: ["test/**/*.browser.test.ts"],
    browser: {
      enabled: true,
      headless: true,
      provider: playwright({
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
          args: [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
          ],
        },
      }),
      instances: [{ browser: "chromium" }],
    },
  },
});
