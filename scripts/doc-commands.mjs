#!/usr/bin/env node
// Runs every fenced shell command of README.md, docs/getting-started.md and docs/server.md as written, from the
// repository root, so that the documentation cannot drift from what works. A command that starts a server (the demo,
// hokan-server) runs until it answers over HTTP, then is stopped. `pnpm add @hokan/...` runs in a fresh project in a
// temporary folder, where pnpm's overrides point the @hokan packages at this checkout's packed tarballs (they are not
// on a registry here). `pnpm test` is the test command CI itself runs (.ci/run), and is not run twice.
//
//   node scripts/doc-commands.mjs
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packAll, ROOT, waitForOutput } from "./packages.mjs";

const DOCS = ["README.md", "docs/getting-started.md", "docs/server.md"];
const work = mkdtempSync(join(tmpdir(), "hokan-doc-commands-"));
const failures = [];
let ran = 0;

/** The commands of a document's sh/bash blocks: continuation lines joined, trailing comments dropped. */
function commandsOf(file) {
  const text = readFileSync(join(ROOT, file), "utf8");
  const out = [];
  for (const [, body] of text.matchAll(/^```(?:sh|bash|shell)\n([\s\S]*?)^```/gm)) {
    for (const line of body.replace(/\\\n\s*/g, "").split("\n")) {
      const command = line.replace(/\s+#\s.*$/, "").trim();
      if (command && !command.startsWith("#")) out.push(command);
    }
  }
  return out;
}

/** Runs a command that starts a server until `ready` finds its URL in the output and it answers, then stops it. */
async function runService(command, ready, path) {
  const child = spawn("bash", ["-c", command], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  try {
    const url = await waitForOutput(child, ready, 180_000, command);
    const res = await fetch(new URL(path, url));
    if (!res.ok) throw new Error(`${url}${path} answered ${res.status}`);
    return `answered at ${url}`;
  } finally {
    const exited = new Promise((resolve) =>
      child.exitCode !== null ? resolve() : child.once("exit", resolve),
    );
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
    }, 10_000);
    await exited;
    clearTimeout(timer);
  }
}

let tarballs;
/** This checkout's packages, packed as a registry would serve them. */
function packed() {
  if (tarballs) return tarballs;
  execFileSync("pnpm", ["build"], { cwd: ROOT, stdio: "inherit" });
  const dir = join(work, "tarballs");
  mkdirSync(dir);
  tarballs = Object.fromEntries(Object.entries(packAll(dir)).map(([name, file]) => [`@hokan/${name}`, file]));
  return tarballs;
}

async function run(command) {
  const steps = command.split(/\s*&&\s*/);
  // The test command is CI's own: everything before it runs, it does not run a second time.
  if (steps.at(-1) === "pnpm test") {
    steps.pop();
    console.log("   (pnpm test: the test command CI runs itself)");
  }
  const last = steps.at(-1) ?? "";
  const rest = steps.join(" && ");
  if (last === "pnpm start") return runService(rest, /Hokan demo: (http:\/\/\S+)/, "/");
  if (/^pnpm hokan-server\b/.test(last) && !/--dev-token|--help/.test(last)) {
    rmSync(join(ROOT, "hokan-data"), { recursive: true, force: true });
    try {
      return await runService(rest, /"address":"(http:\/\/[^"]+)"/, "/v1/health");
    } finally {
      rmSync(join(ROOT, "hokan-data"), { recursive: true, force: true });
    }
  }
  if (/^(pnpm add|npm install|npm i) @hokan\//.test(rest)) {
    const app = mkdtempSync(join(work, "app-"));
    const overrides = Object.fromEntries(
      Object.entries(packed()).map(([name, file]) => [name, `file:${file}`]),
    );
    writeFileSync(
      join(app, "package.json"),
      JSON.stringify({ name: "doc-app", private: true, type: "module", pnpm: { overrides } }, null, 2),
    );
    execFileSync("bash", ["-c", rest], { cwd: app, stdio: "inherit" });
    const installed = JSON.parse(readFileSync(join(app, "package.json"), "utf8")).dependencies ?? {};
    return `installed ${Object.keys(installed).join(", ")}`;
  }
  const out = execFileSync("bash", ["-c", rest], {
    cwd: ROOT,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  return out.trim().split("\n").at(-1)?.slice(0, 100) ?? "";
}

try {
  for (const file of DOCS) {
    for (const command of commandsOf(file)) {
      console.log(`\n== ${file}: ${command}`);
      ran++;
      try {
        console.log(`ok   ${await run(command)}`);
      } catch (e) {
        console.log(`FAIL ${String(e?.message ?? e)}`);
        failures.push(`${file}: ${command}`);
      }
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
if (failures.length > 0) {
  console.error(`\n${failures.length} of ${ran} documented commands failed:\n- ${failures.join("\n- ")}`);
  process.exit(1);
}
console.log(`\nevery documented command ran: ${ran}`);
