import { defineConfig } from "vitest/config";

// One entry for every package's tests: `pnpm vitest` at the root runs them all as projects.
export default defineConfig({
  test: { projects: ["packages/*"] },
});
