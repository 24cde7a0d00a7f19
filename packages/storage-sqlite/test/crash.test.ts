import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { betterSqlite3Driver } from "../src/better-sqlite3.js";
import { SqliteStore } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "hokan-sqlite-crash-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const CHILD = new URL("./commit-child.ts", import.meta.url).pathname;
const NS = { account: "alice", app: "jp.example.mail" };

/** Starts the child committing, and kills it (SIGKILL) a while into its `round`-th commit. */
function killDuring(file: string, round: number, delayMs: number): Promise<string> {
  const child = spawn(process.execPath, ["--import", "tsx", "--conditions=hokan-source", CHILD, file], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the child never reached commit ${round}:\n${output}`));
    }, 60_000);
    child.stdout.on("data", (d: Buffer) => {
      output += d.toString();
      if (output.includes(`begin ${round}\n`)) setTimeout(() => child.kill("SIGKILL"), delayMs);
    });
    child.stderr.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.on("exit", (_code, signal) => {
      clearTimeout(timer);
      if (signal === "SIGKILL") resolve(output);
      else reject(new Error(`the child ended by itself (${signal ?? _code}):\n${output}`));
    });
  });
}

describe("a process killed in the middle of a commit", () => {
  it("leaves all or none of each 10,000-change commit, and a store that carries on", async () => {
    const file = join(dir, "hokan.db");
    const rounds: { ended: number; outbox: number }[] = [];
    for (const [round, delayMs] of [
      [1, 5],
      [2, 40],
      [3, 0],
    ] as const) {
      const output = await killDuring(file, round, delayMs);
      const ended = output.split("\n").filter((l) => l.startsWith("end ")).length;
      const store = await SqliteStore.open(betterSqlite3Driver(new Database(file)));
      const outbox = await store.countOutbox(NS);
      const documents = (await store.listDocuments(NS)).length;
      const before = rounds.at(-1)?.outbox ?? 0;
      rounds.push({ ended, outbox });
      // Whole commits only: the ones it said it finished, and at most the one it was killed in (done, not yet said).
      expect(outbox % 10_000).toBe(0);
      expect([ended, ended + 1]).toContain((outbox - before) / 10_000);
      expect(documents).toBe(outbox);
      const nextSeq = (await store.getSync(NS))?.nextSeq ?? 0;
      expect(nextSeq).toBeGreaterThan(outbox);
      // And the reopened store writes on, numbering from where the last whole commit left it.
      const [seq] = await store.commit(NS, {
        outboxPut: [
          { seq: -1, collection: "settings", id: "after", data: { v: 1 }, hlc: "h", changeId: "c", epoch: 1 },
        ],
      });
      expect(seq).toBe(nextSeq);
      await store.commit(NS, { outboxDelete: [seq as number] });
      await store.close();
      const db = new Database(file);
      expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
      db.close();
    }
    // Each run was killed during a commit it had begun: the outbox never counts a commit that did not end.
    console.log(`killed mid-commit 3 times; outbox after each: ${rounds.map((r) => r.outbox).join(", ")}`);
  }, 120_000);
});
