import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["hokan-source"] },
  ssr: { resolve: { conditions: ["hokan-source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
    server: { deps: { inline: [/@hokan\//] } },
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
