import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["hokan-source"] },
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
  },
});
