import { defineConfig } from "vitest/config";

export default defineConfig({
  // Workspace packages resolve to their TypeScript sources, so tests need no build.
  resolve: { conditions: ["hokan-source"] },
  ssr: { resolve: { conditions: ["hokan-source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
    testTimeout: 60_000,
    hookTimeout: 60_000,
    server: { deps: { inline: [/@hokan\//] } },
  },
});
