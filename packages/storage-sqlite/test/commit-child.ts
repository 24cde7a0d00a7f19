// Commits 10,000-change batches into a SQLite store until killed, saying when each begins and ends.
import Database from "better-sqlite3";
import { betterSqlite3Driver } from "../src/better-sqlite3.js";
import { SqliteStore } from "../src/index.js";

const file = process.argv[2] as string;
const store = await SqliteStore.open(betterSqlite3Driver(new Database(file)));
const ns = { account: "alice", app: "jp.example.mail" };
for (let batch = 0; batch < 1000; batch++) {
  const ids = Array.from({ length: 10_000 }, (_, i) => `p${process.pid}-b${batch}-${i}`);
  process.stdout.write(`begin ${batch}\n`);
  await store.commit(ns, {
    documents: ids.map((id) => ({
      collection: "settings",
      id,
      data: { v: id, pad: "x".repeat(100) },
      hlc: "h",
    })),
    outboxPut: ids.map((id) => ({
      seq: -1,
      collection: "settings",
      id,
      data: { v: id },
      hlc: "h",
      changeId: `c-${id}`,
      epoch: 1,
    })),
  });
  process.stdout.write(`end ${batch}\n`);
}
