import { IDBFactory, IDBKeyRange, IDBObjectStore } from "fake-indexeddb";
import { afterEach, expect, it, vi } from "vitest";
import { DexieStore } from "../src/index.js";

const NS = { account: "alice", app: "jp.example.mail" };
const id = (i: number) => `d${String(i).padStart(4, "0")}`;
const doc = (i: number) => ({ collection: "settings", id: id(i), data: { i }, hlc: "h" });
const keys = (ids: number[]) => ids.map((i) => ({ collection: "settings", id: id(i) }));

afterEach(() => {
  vi.restoreAllMocks();
});

it("reads a batch of neighbouring documents as one key range, and scattered ones key by key", async () => {
  const store = new DexieStore({ indexedDB: new IDBFactory(), IDBKeyRange, name: "reads" });
  await store.commit(NS, { documents: Array.from({ length: 1000 }, (_, i) => doc(i)) });
  const gets = vi.spyOn(IDBObjectStore.prototype, "get");
  const ranges = vi.spyOn(IDBObjectStore.prototype, "getAll");

  // 500 neighbours, 20 of them not stored: the range holds no more than twice the keys asked for.
  const near = Array.from({ length: 500 }, (_, k) => 200 + k);
  const read = await store.getDocuments(NS, [...keys(near), { collection: "settings", id: "d0300x" }]);
  expect(read.map((d) => d?.data)).toEqual([...near.map((i) => ({ i })), undefined]);
  // One `get`: the namespace's counts row, which says it has no acknowledgements to read.
  expect(gets).toHaveBeenCalledTimes(1);
  expect(ranges).toHaveBeenCalledTimes(1);

  // 100 documents spread over all 1,000: one request each (reading the range would read ten times as many).
  ranges.mockClear();
  gets.mockClear();
  const far = Array.from({ length: 100 }, (_, k) => k * 10);
  expect((await store.getDocuments(NS, keys(far))).map((d) => d?.data)).toEqual(far.map((i) => ({ i })));
  expect(gets).toHaveBeenCalledTimes(101);
  expect(ranges).not.toHaveBeenCalled();
  await store.close();
});
