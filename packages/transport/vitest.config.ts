import { defineConfig } from "vitest/config";

export default defineConfig({
  // Workspace packages resolve to their TypeScript sources, so tests need no build.
  resolve: { conditions: ["hokan-source"] },
  ssr: { resolve: { conditions: ["hokan-source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
    server: { deps: { inline: [/@hokan\//] } },
  },
});
