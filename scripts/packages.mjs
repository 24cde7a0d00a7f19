// What the consumer check and the documented-commands check share: the packages a user installs, packed as a
// registry would serve them, and waiting for a started server to say where it listens.
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The published packages, by folder under packages/. */
export const PACKAGES = ["core", "transport", "storage", "storage-sqlite", "server"];

/** Packs each package (built) into `dir` with pnpm (workspace versions resolved): folder name → tarball path. */
export function packAll(dir) {
  const tarballs = {};
  for (const name of PACKAGES) {
    const out = execFileSync("pnpm", ["pack", "--pack-destination", dir], {
      cwd: join(ROOT, "packages", name),
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    });
    tarballs[name] = out.trim().split("\n").at(-1).trim();
  }
  return tarballs;
}

/**
 * The first match of `pattern` in what `child` writes (stdout and stderr), its first group: a server saying where it
 * listens. Rejects with the output when the child exits first or `timeoutMs` passes.
 */
export function waitForOutput(child, pattern, timeoutMs, what) {
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${what}: no answer within ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    );
    const onData = (chunk) => {
      output += chunk;
      const m = output.match(pattern);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code} before it answered:\n${output}`));
    });
  });
}
