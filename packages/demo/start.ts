/**
 * `pnpm start`: the backup server on its embedded default (PGlite in ./.hokan-demo) and the settings screen.
 * Open the printed URL; open it again in a second browser profile (or a private window) to be a second device.
 */
import { startDemo } from "./demo-server.js";

// PORT names the port, which must then be free; without it, 5173 or the next free port after it.
const port = Number(process.env.PORT ?? 5173);
const demo = await startDemo({
  port,
  strictPort: process.env.PORT !== undefined,
  dataDir: process.env.HOKAN_DEMO_DATA ?? ".hokan-demo",
});
const taken =
  new URL(demo.url).port !== String(port) ? ` (port ${port} was taken; PORT=<n> chooses one)` : "";
console.log(
  `\nHokan demo: ${demo.url}${taken}\n  settings screen and sample apps; the API is at ${demo.apiUrl}\n  stop with Ctrl-C\n`,
);
const stop = async () => {
  await demo.close();
  process.exit(0);
};
process.once("SIGINT", () => void stop());
process.once("SIGTERM", () => void stop());
