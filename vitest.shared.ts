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
