import { Dexie } from "dexie";
import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import { expect, it } from "vitest";
import { seqRuns } from "../src/dexie-store.js";
import { DexieStore } from "../src/index.js";

const NS = { account: "alice", app: "jp.example.mail" };
const ns = JSON.stringify([NS.account, NS.app]);
const entry = (seq: number, id: string) => ({
  seq,
  collection: "settings",
  id,
  data: { v: seq },
  hlc: "h",
  changeId: `c${seq}`,
  epoch: 1,
});

it("keeps the outbox size through puts, replacements, deletes and clears, without counting entries", async () => {
  const store = new DexieStore({ indexedDB: new IDBFactory(), IDBKeyRange, name: "count" });
  await store.commit(NS, { outboxPut: [entry(-1, "a"), entry(-2, "b"), entry(-3, "c")] });
  expect(await store.countOutbox(NS)).toBe(3);
  await store.commit(NS, { outboxPut: [{ ...entry(2, "b"), data: { v: 9 } }], outboxDelete: [1, 77] });
  expect(await store.countOutbox(NS)).toBe(2);
  await store.commit(NS, { outboxPut: [entry(10, "z")] });
  expect(await store.countOutbox(NS)).toBe(3);
  await store.commit(NS, { clearOutbox: true, outboxPut: [entry(-1, "n")] });
  expect(await store.countOutbox(NS)).toBe(1);
  expect(await store.countOutbox({ account: "bob", app: NS.app })).toBe(0);
  await store.dropNamespace(NS);
  expect(await store.countOutbox(NS)).toBe(0);
  await store.close();
});

it("counts the outbox of a database made by the first version once, then keeps the size", async () => {
  const indexedDB = new IDBFactory();
  const old = new Dexie("upgrade", { indexedDB, IDBKeyRange });
  old.version(1).stores({
    documents: "[ns+collection+id], [ns+collection]",
    outbox: "[ns+seq], [ns+collection+id]",
    sync: "ns",
    device: "key",
  });
  await old.table("outbox").bulkPut([1, 2, 3, 4].map((seq) => ({ ...entry(seq, `d${seq}`), ns })));
  await old.table("sync").put({ ns, epoch: 1, checkpoint: { epoch: 1, seq: 0 }, hlc: "h", nextSeq: 5 });
  old.close();
  const store = new DexieStore({ indexedDB, IDBKeyRange, name: "upgrade" });
  expect(await store.countOutbox(NS)).toBe(4);
  await store.commit(NS, { outboxPut: [entry(-1, "new")], outboxDelete: [1] });
  expect(await store.countOutbox(NS)).toBe(4);
  expect((await store.readOutbox(NS)).map((e) => e.seq)).toEqual([2, 3, 4, 5]);
  await store.close();
});

it("counts deletes of seqs spread far apart, missing ones and neighbours of another namespace right", async () => {
  const store = new DexieStore({ indexedDB: new IDBFactory(), IDBKeyRange, name: "spread" });
  const other = { account: "alicf", app: NS.app }; // sorts right after NS's keys
  const seqs = [1, 2, 3, 70, 500, 501, 5000];
  await store.commit(NS, { outboxPut: seqs.map((seq) => entry(seq, `d${seq}`)) });
  await store.commit(other, { outboxPut: [1, 2, 3].map((seq) => entry(seq, `o${seq}`)) });
  expect(await store.countOutbox(NS)).toBe(7);
  // 4 and 9999 were never there; 3 and 500 stay.
  await store.commit(NS, { outboxDelete: [5000, 1, 4, 2, 70, 501, 9999] });
  expect(await store.countOutbox(NS)).toBe(2);
  expect((await store.readOutbox(NS)).map((e) => e.seq)).toEqual([3, 500]);
  expect(await store.countOutbox(other)).toBe(3);
  await store.close();
});

it("splits seqs into runs with gaps of at most 64 inside a run", () => {
  expect(seqRuns([])).toEqual([]);
  expect(seqRuns([5])).toEqual([[5, 5]]);
  expect(seqRuns([9, 1, 65, 3])).toEqual([[1, 65]]);
  expect(seqRuns([1, 66, 130, 131, 1000])).toEqual([
    [1, 1],
    [66, 131],
    [1000, 1000],
  ]);
});
