import { Dexie } from "dexie";
import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import { expect, it } from "vitest";
import { DexieStore } from "../src/index.js";

const NS = { account: "alice", app: "jp.example.mail" };
const OTHER = { account: "alicf", app: NS.app }; // its keys sort right after NS's
const nsOf = (ns: typeof NS) => JSON.stringify([ns.account, ns.app]);
const row = (ns: typeof NS, collection: string, id: string) => ({
  ns: nsOf(ns),
  collection,
  id,
  data: { id },
  hlc: "h",
});

it("drops the documents' collection index on upgrade from version 2, and still lists a collection exactly", async () => {
  const indexedDB = new IDBFactory();
  const old = new Dexie("v2", { indexedDB, IDBKeyRange });
  old.version(2).stores({
    documents: "[ns+collection+id], [ns+collection]",
    outbox: "[ns+seq], [ns+collection+id]",
    sync: "ns",
    device: "key",
    counts: "ns",
  });
  await old.table("documents").bulkPut([
    row(NS, "settings", "b"),
    row(NS, "settings", "a"),
    row(NS, "settings\u0000x", "c"), // a collection whose name starts with the other's
    row(NS, "settingsx", "d"),
    row(NS, "consent", "e"),
    row(OTHER, "settings", "f"),
  ]);
  old.close();

  const store = new DexieStore({ indexedDB, IDBKeyRange, name: "v2" });
  expect((await store.listDocuments(NS, "settings")).map((d) => d.id)).toEqual(["a", "b"]);
  expect((await store.listDocuments(NS, "settingsx")).map((d) => d.id)).toEqual(["d"]);
  expect((await store.listDocuments(NS, "nothing")).map((d) => d.id)).toEqual([]);
  expect((await store.listDocuments(OTHER, "settings")).map((d) => d.id)).toEqual(["f"]);
  expect(await store.listDocuments(NS)).toHaveLength(5);
  await store.close();

  // What is on disk now: the documents keep only their primary key, so a write updates one tree.
  const raw = new Dexie("v2", { indexedDB, IDBKeyRange });
  await raw.open();
  expect(raw.table("documents").schema.indexes.map((i) => i.name)).toEqual([]);
  expect(raw.table("outbox").schema.indexes.map((i) => i.name)).toEqual(["[ns+collection+id]"]);
  raw.close();
});

it("adds the acknowledgements table on upgrade from version 3, keeping every document's base and count", async () => {
  const indexedDB = new IDBFactory();
  const old = new Dexie("v3", { indexedDB, IDBKeyRange });
  old.version(3).stores({
    documents: "[ns+collection+id]",
    outbox: "[ns+seq], [ns+collection+id]",
    sync: "ns",
    device: "key",
    counts: "ns",
  });
  const base = { rev: 4, data: { id: "a" }, hlc: "h", changeId: "c4" };
  await old.table("documents").bulkPut([{ ...row(NS, "settings", "a"), base }, row(NS, "settings", "b")]);
  await old.table("counts").put({ ns: nsOf(NS), outbox: 0 });
  old.close();

  const store = new DexieStore({ indexedDB, IDBKeyRange, name: "v3" });
  expect((await store.listDocuments(NS)).map((d) => [d.id, d.base])).toEqual([
    ["a", base],
    ["b", undefined],
  ]);
  // The first acknowledgement after the upgrade goes in the new table.
  await store.commit(NS, {
    acknowledged: [{ collection: "settings", id: "b", hlc: "h", rev: 1, changeId: "c1" }],
  });
  const [b] = await store.getDocuments(NS, [{ collection: "settings", id: "b" }]);
  expect(b?.base).toEqual({ rev: 1, data: { id: "b" }, hlc: "h", changeId: "c1" });
  expect(await store.countOutbox(NS)).toBe(0);
  await store.close();
});
