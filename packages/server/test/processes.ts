import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RegistryEntry } from "@hokan/core";
import { createHttpTransport } from "@hokan/transport";
import { signDevelopmentToken } from "../src/index.js";
import { type DatabaseKind, freshDatabase, type RunningServer, SECRET } from "./fixtures.js";

const BIN = new URL("../bin/hokan-server.js", import.meta.url).pathname;

/** A server as an operator runs it: the CLI in its own process, on 127.0.0.1. */
export interface ServerProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Kills it at once (SIGKILL): no graceful shutdown. */
  kill(): Promise<void>;
  stop(): Promise<void>;
  /** What it has written to stdout and stderr so far. */
  output(): string;
}

export function writeRegistry(entries: readonly RegistryEntry[]): string {
  const file = join(tmpdir(), `hokan-registry-${process.pid}-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify({ apps: entries }));
  return file;
}

export async function spawnServer(args: readonly string[]): Promise<ServerProcess> {
  const child = spawn(process.execPath, [BIN, "--port", "0", "--jwt-secret", SECRET, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, HOKAN_LOG_LEVEL: "info" },
  });
  let output = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = output.match(/"address":"(http:\/\/127\.0\.0\.1:\d+)"/);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`server exited with ${code}:\n${output}`)));
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    url,
    child,
    output: () => output,
    kill: async () => {
      child.kill("SIGKILL");
      await exited;
    },
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** What a suite needs of a server under test, wherever it runs: its address, tokens and clients. */
export type ServerUnderTest = Pick<RunningServer, "url" | "token" | "client"> & { close(): Promise<void> };

/**
 * The CLI in its own process on a fresh database of the kind (PGlite in a temporary directory, or a new PostgreSQL
 * database): the suite's own work does not share the server's event loop. `close` stops it and drops the database.
 */
export async function startServerProcess(
  kind: DatabaseKind,
  registry: readonly RegistryEntry[],
  args: readonly string[] = [],
): Promise<ServerUnderTest> {
  const file = writeRegistry(registry);
  let where: string[];
  let drop: () => Promise<void>;
  if (kind === "postgres") {
    const fresh = await freshDatabase("postgres");
    await fresh.db.close();
    where = ["--database-url", fresh.url as string];
    drop = fresh.drop;
  } else {
    const dir = mkdtempSync(join(tmpdir(), "hokan-pglite-"));
    where = ["--data-dir", dir];
    drop = async () => rmSync(dir, { recursive: true, force: true });
  }
  let server: ServerProcess;
  try {
    server = await spawnServer([...where, "--registry", file, ...args]);
  } catch (e) {
    await drop();
    throw e;
  }
  const token: RunningServer["token"] = (account, claims = {}) =>
    signDevelopmentToken(SECRET, { account, ...claims });
  return {
    url: server.url,
    token,
    client: (account, claims = {}) =>
      createHttpTransport({ baseUrl: server.url, token: () => token(account, claims) }),
    close: async () => {
      await server.stop();
      await drop();
      rmSync(file, { force: true });
    },
  };
}
