import { defineConfig, mergeConfig, type ViteUserConfig } from "vitest/config";

/**
 * The test setup every package shares: workspace packages resolve to their TypeScript sources (the `hokan-source`
 * condition), so tests need no build; Node tests live in `test/**\/*.test.ts`.
 */
export function packageConfig(extra: ViteUserConfig = {}): ViteUserConfig {
  return mergeConfig(
    defineConfig({
      resolve: { conditions: ["hokan-source"] },
      ssr: { resolve: { conditions: ["hokan-source"] } },
      test: {
        include: ["test/**/*.test.ts"],
        exclude: ["test/**/*.browser.test.ts", "**/node_modules/**"],
        environment: "node",
        server: { deps: { inline: [/@hokan\//] } },
      },
    }),
    extra,
  );
}

/**
 * Debian's Chromium as the browser suites launch it: headless, and kept off the network this machine does not have.
 */
export const CHROMIUM = {
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
} as const;

/**
 * A package's browser suites (`test/**\/*.browser.test.ts`) in {@link CHROMIUM}, nothing downloading a browser. The
 * package passes its own `playwright` provider factory (`@vitest/browser-playwright`, one of its dev dependencies).
 */
export function browserConfig(
  playwright: (options: {
    launchOptions: { executablePath: string; args: string[] };
  }) => NonNullable<NonNullable<NonNullable<ViteUserConfig["test"]>["browser"]>["provider"]>,
  extra: ViteUserConfig = {},
): ViteUserConfig {
  return mergeConfig(
    defineConfig({
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
    }),
    extra,
  );
}
