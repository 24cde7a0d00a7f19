// Runs every benchmark in turn with the same arguments (e.g. --quick), each in its own process.
import { spawnSync } from "node:child_process";

const args = process.argv.slice(2);
for (const file of [
  "storage.ts",
  "mobile.ts",
  "server.ts",
  "compression.ts",
  "sync.ts",
  "browser.ts",
  "browser-stores.ts",
  "settings-screen.ts",
]) {
  const r = spawnSync(
    process.execPath,
    ["--expose-gc", "--import", "tsx", "--conditions=hokan-source", file, ...args],
    {
      stdio: "inherit",
      cwd: new URL(".", import.meta.url).pathname,
    },
  );
  if (r.status !== 0) process.exit(r.status ?? 1);
}
