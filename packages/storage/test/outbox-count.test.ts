import { Dexie } from "dexie";
import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import { expect, it } from "vitest";
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
