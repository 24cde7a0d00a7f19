// Runs every benchmark in turn with the same arguments (e.g. --quick), each in its own process.
import { spawnSync } from "node:child_process";

const args = process.argv.slice(2);
// `pnpm bench -- --capacity`: the operator's capacity run alone (it rewrites docs/operations.md's table).
const only = args.includes("--capacity") ? ["capacity.ts"] : undefined;
const flags = args.filter((a) => a !== "--capacity");
for (const file of only ?? [
  "storage.ts",
  "mobile.ts",
  "new-phone.ts",
  "server.ts",
  "compression.ts",
  "sync.ts",
  "shapes.ts",
  "browser.ts",
  "browser-stores.ts",
  "settings-screen.ts",
  "capacity.ts",
]) {
  const r = spawnSync(
    process.execPath,
    ["--expose-gc", "--import", "tsx", "--conditions=hokan-source", file, ...flags],
    {
      stdio: "inherit",
      cwd: new URL(".", import.meta.url).pathname,
    },
  );
  if (r.status !== 0) process.exit(r.status ?? 1);
}
