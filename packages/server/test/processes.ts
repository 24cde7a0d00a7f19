import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RegistryEntry } from "@hokan/core";
import { SECRET } from "./fixtures.js";

const BIN = new URL("../bin/hokan-server.js", import.meta.url).pathname;

/** A server as an operator runs it: the CLI in its own process, on 127.0.0.1. */
export interface ServerProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Kills it at once (SIGKILL): no graceful shutdown. */
  kill(): Promise<void>;
  stop(): Promise<void>;
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
