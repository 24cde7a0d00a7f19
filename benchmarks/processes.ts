/**
 * Processes a benchmark starts: hokan-server by its CLI, and helpers to wait for and stop children. Every child
 * started here is killed when the benchmark's process exits, however it ends.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { fileURLToPath } from "node:url";

const SERVER_BIN = fileURLToPath(new URL("../packages/server/bin/hokan-server.js", import.meta.url));

/** Every child started, stopped at the end however the run ends. */
export const children = new Set<ChildProcess>();

/** Kills every child started (each in a group of its own, so with its children). */
export function stopAll(): void {
  for (const c of children) {
    try {
      if (c.pid) process.kill(-c.pid, "SIGKILL");
    } catch {
      c.kill("SIGKILL");
    }
  }
}
process.on("exit", stopAll);

/** Waits for a line of the child's output that `match` accepts. */
export function waitForLine<T>(
  child: ChildProcess,
  match: (line: string) => T | undefined,
  what: string,
): Promise<T> {
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => reject(new Error(`${what} did not start:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      for (const line of output.split("\n")) {
        const found = match(line);
        if (found !== undefined) {
          clearTimeout(timer);
          child.stdout?.off("data", onData);
          // Kept draining: a child blocked on a full pipe would stall.
          child.stdout?.resume();
          resolve(found);
          return;
        }
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (c: Buffer) => {
      output += c.toString();
    });
    child.once("exit", (code) => reject(new Error(`${what} exited with ${code}:\n${output}`)));
  });
}

/** A port free on 127.0.0.1 now (the server is told it, so that its address need not be read from its logs). */
export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A hokan-server process and where it answers. */
export interface ServerProcess {
  readonly url: string;
  readonly child: ChildProcess;
}

/**
 * Starts hokan-server by its CLI (the built package) on 127.0.0.1 with `args` after its port, and resolves once
 * `/v1/health` answers.
 */
export async function spawnHokanServer(args: readonly string[]): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [SERVER_BIN, "--port", String(port), ...args], {
    // At info, Fastify logs two lines per request: an operator under load runs at warn.
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    env: { ...process.env, HOKAN_LOG_LEVEL: "warn" },
  });
  children.add(child);
  child.stdout?.resume();
  let output = "";
  child.stderr?.on("data", (c: Buffer) => {
    output += c.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`hokan-server exited with ${child.exitCode}:\n${output}`);
    const up = await fetch(`${url}/v1/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (i > 300) throw new Error(`hokan-server did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, child };
}

/** Stops a child with SIGTERM, and kills its group if it has not exited within 10 s. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return void children.delete(child);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(-child.pid, "SIGKILL");
  children.delete(child);
}
