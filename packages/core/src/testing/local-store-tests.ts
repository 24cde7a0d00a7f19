import { describe, expect, it } from "vitest";
import type { LocalDocument, LocalStore, Namespace, OutboxEntry, SyncState } from "../ports.js";

/** What a {@link runLocalStoreTests} setup provides. */
export interface LocalStoreSetup {
  readonly store: LocalStore;
  /**
   * Opens a second store on the same storage, as another tab of a browser would (the memory store returns itself).
   * Closed by teardown.
   */
  readonly openAnother?: () => Promise<LocalStore>;
  /** Closes the store and opens it again on the same storage (checks durability); optional for memory stores. */
  readonly reopen?: () => Promise<LocalStore>;
  readonly teardown: () => Promise<void>;
}

const A: Namespace = { account: "acct-a", app: "jp.example.mail" };
const B: Namespace = { account: "acct-b", app: "jp.example.mail" };
const A2: Namespace = { account: "acct-a", app: "jp.example.notes" };

const doc = (id: string, data: LocalDocument["data"], extra: Partial<LocalDocument> = {}): LocalDocument => ({
  collection: "settings",
  id,
  data,
  hlc: `000000000000001:000000:${id}`,
  ...extra,
});

const entry = (seq: number, id: string, data: OutboxEntry["data"] = { v: seq }): OutboxEntry => ({
  seq,
  collection: "settings",
  id,
  data,
  hlc: `000000000000002:000000:${id}`,
  changeId: `change-${seq}`,
  epoch: 1,
});

const sync = (seq: number): Partial<SyncState> => ({
  epoch: 1,
  checkpoint: { epoch: 1, seq },
  hlc: `000000000000003:${String(seq).padStart(6, "0")}:d`,
  lastPullAt: 5,
});

/** What a store under {@link runLocalStoreTests} claims beyond the required. */
export interface LocalStoreTestOptions {
  /** The store takes acknowledgements (`LocalStore.acknowledgements`): their tests run too. */
  readonly acknowledgements?: boolean;
}

/**
 * The conformance suite every {@link LocalStore} must pass: namespaces, atomic commits, outbox order, copies.
 *
 * @example
 * ```ts
 * runLocalStoreTests("dexie", async () => { const store = await openStore(); return { store, teardown: () => store.close() }; });
 * ```
 */
export function runLocalStoreTests(
  name: string,
  setup: () => Promise<LocalStoreSetup>,
  options: LocalStoreTestOptions = {},
): void {
  describe(`LocalStore conformance: ${name}`, () => {
    const withStore = (fn: (s: LocalStoreSetup) => Promise<void>) => async () => {
      const s = await setup();
      try {
        await fn(s);
      } finally {
        await s.teardown();
      }
    };

    it(
      "reads nothing from an empty namespace",
      withStore(async ({ store }) => {
        expect(await store.getSync(A)).toBeUndefined();
        expect(await store.countOutbox(A)).toBe(0);
        expect(await store.readOutbox(A)).toEqual([]);
        expect(await store.listDocuments(A)).toEqual([]);
        expect(await store.getDocuments(A, [{ collection: "settings", id: "x" }])).toEqual([undefined]);
      }),
    );

    it(
      "stores documents, outbox entries and sync state of one commit together",
      withStore(async ({ store }) => {
        const base = { rev: 3, data: { a: 1 }, hlc: "000000000000001:000000:s", changeId: "c0" };
        await store.commit(A, {
          documents: [doc("x", { a: 2 }, { base }), doc("y", null)],
          outboxPut: [entry(2, "x"), entry(1, "y", null)],
          sync: sync(7),
        });
        const [x, y, z] = await store.getDocuments(A, [
          { collection: "settings", id: "x" },
          { collection: "settings", id: "y" },
          { collection: "settings", id: "z" },
        ]);
        expect(x).toEqual(doc("x", { a: 2 }, { base }));
        expect(y).toEqual(doc("y", null));
        expect(z).toBeUndefined();
        expect((await store.readOutbox(A)).map((e) => e.seq)).toEqual([1, 2]);
        expect(await store.countOutbox(A)).toBe(2);
        expect(await store.getSync(A)).toMatchObject(sync(7));
      }),
    );

    it(
      "reads many documents at once in the order asked, neighbouring or scattered, missing ones as undefined",
      withStore(async ({ store }) => {
        const id = (i: number) => `d${String(i).padStart(4, "0")}`;
        // 300 documents in A; a namespace and a collection whose keys sort among them hold others.
        await store.commit(A, {
          documents: [
            ...Array.from({ length: 300 }, (_, i) => doc(id(i), { i })),
            { ...doc(id(5), { other: true }), collection: "prefs" },
          ],
        });
        await store.commit(B, { documents: Array.from({ length: 300 }, (_, i) => doc(id(i), { b: i })) });
        const read = async (ids: (number | string)[]) =>
          (
            await store.getDocuments(
              A,
              ids.map((i) => ({ collection: "settings", id: typeof i === "number" ? id(i) : i })),
            )
          ).map((d) => (d === undefined ? undefined : (d.data as { i: number }).i));
        // Neighbours in reverse order, with one missing among them.
        const near = Array.from({ length: 64 }, (_, k) => 100 + k).reverse();
        expect(await read(["d0130x", ...near])).toEqual([undefined, ...near]);
        // Neighbours of two collections: each document from its own.
        const [other, first] = await store.getDocuments(A, [
          { collection: "prefs", id: id(5) },
          ...Array.from({ length: 40 }, (_, k) => ({ collection: "settings", id: id(k) })),
        ]);
        expect([other?.data, first?.data]).toEqual([{ other: true }, { i: 0 }]);
        // Missing at both ends, far beyond the rest.
        expect(await read([1000, ...near, -1])).toEqual([undefined, ...near, undefined]);
        // Spread over the whole namespace: most of the range not asked for.
        const far = Array.from({ length: 40 }, (_, k) => k * 7);
        expect(await read(far)).toEqual(far);
        // Every document, and what lies beyond the last.
        const all = Array.from({ length: 310 }, (_, k) => k);
        expect(await read(all)).toEqual(all.map((k) => (k < 300 ? k : undefined)));
      }),
    );

    it(
      "reads the outbox in seq order, with a limit, after a seq, and per document",
      withStore(async ({ store }) => {
        await store.commit(A, {
          outboxPut: [entry(30, "c"), entry(10, "a"), entry(20, "b"), entry(40, "a")],
        });
        expect((await store.readOutbox(A, 2)).map((e) => e.seq)).toEqual([10, 20]);
        expect((await store.readOutbox(A, 2, 10)).map((e) => e.seq)).toEqual([20, 30]);
        expect((await store.readOutbox(A, undefined, 20)).map((e) => e.seq)).toEqual([30, 40]);
        expect(await store.readOutbox(A, 5, 40)).toEqual([]);
        const forA = await store.outboxFor(A, [{ collection: "settings", id: "a" }]);
        expect(forA.map((e) => e.seq)).toEqual([10, 40]);
        expect(await store.outboxFor(A, [{ collection: "other", id: "a" }])).toEqual([]);
      }),
    );

    it(
      "finds documents' outbox entries whether the outbox is smaller or larger than the question",
      withStore(async ({ store }) => {
        const keys = (...ids: string[]) => ids.map((id) => ({ collection: "settings", id }));
        expect(await store.outboxFor(A, keys("a", "b"))).toEqual([]);
        await store.commit(A, {
          outboxPut: [entry(10, "a"), entry(20, "b"), entry(30, "c"), entry(40, "a")],
        });
        await store.commit(B, { outboxPut: [entry(5, "a"), entry(6, "z")] });
        // More documents asked about than entries queued, and fewer.
        const many = await store.outboxFor(A, keys("a", "b", "x", "y", "z"));
        expect(many.map((e) => [e.id, e.seq])).toEqual([
          ["a", 10],
          ["b", 20],
          ["a", 40],
        ]);
        expect((await store.outboxFor(A, keys("a"))).map((e) => e.seq)).toEqual([10, 40]);
        expect(
          await store.outboxFor(A, [{ collection: "other", id: "c" }, ...keys("q", "r", "s", "t")]),
        ).toEqual([]);
        expect((await store.outboxFor(B, keys("a", "b", "c"))).map((e) => e.seq)).toEqual([5]);
      }),
    );

    it(
      "replaces and deletes outbox entries by seq, and clears the outbox before new entries",
      withStore(async ({ store }) => {
        await store.commit(A, { outboxPut: [entry(1, "a"), entry(2, "b"), entry(3, "c")] });
        await store.commit(A, { outboxDelete: [2], outboxPut: [entry(3, "c", { v: 99 })] });
        const after = await store.readOutbox(A);
        expect(after.map((e) => [e.seq, e.data])).toEqual([
          [1, { v: 1 }],
          [3, { v: 99 }],
        ]);
        await store.commit(A, { clearOutbox: true, outboxPut: [entry(9, "z")] });
        expect((await store.readOutbox(A)).map((e) => e.seq)).toEqual([9]);
      }),
    );

    it(
      "numbers new outbox entries itself, and merges sync fields without losing the others",
      withStore(async ({ store }) => {
        const given = await store.commit(A, { outboxPut: [entry(-1, "a"), entry(-2, "b")], sync: sync(1) });
        // It says which seqs it gave, in the order put (the engine waits on them); or says nothing at all.
        if (given) expect(given).toEqual([1, 2]);
        const joined = await store.commit(A, {
          outboxPut: [entry(1, "a"), entry(-1, "c")],
          sync: { lastPushAt: 9 },
        });
        if (joined) expect(joined).toEqual([3]);
        const seqs = (await store.readOutbox(A)).map((e) => [e.seq, e.id]);
        expect(seqs).toEqual([
          [1, "a"],
          [2, "b"],
          [3, "c"],
        ]);
        const state = await store.getSync(A);
        expect(state).toMatchObject({ ...sync(1), lastPushAt: 9, nextSeq: 4 });
        // The later clock time stays; a stale one from another writer does not win.
        await store.commit(A, { sync: { hlc: "000000000000001:000000:z" } });
        expect((await store.getSync(A))?.hlc).toBe(sync(1).hlc);
        await store.commit(A, { sync: { hlc: "000000000000009:000000:z", nextSeq: 1 } });
        expect(await store.getSync(A)).toMatchObject({ hlc: "000000000000009:000000:z", nextSeq: 4 });
      }),
    );

    it(
      "gives every new outbox entry its own seq when two stores on the same storage write at once",
      withStore(async (s) => {
        const other = s.openAnother ? await s.openAnother() : s.store;
        const writes = Array.from({ length: 40 }, (_, i) =>
          (i % 2 ? other : s.store).commit(A, { outboxPut: [entry(-1, `d${i}`)], sync: { lastPushAt: i } }),
        );
        await Promise.all(writes);
        const all = await s.store.readOutbox(A);
        expect(all).toHaveLength(40);
        expect(new Set(all.map((e) => e.seq)).size).toBe(40);
        expect(new Set(all.map((e) => e.id)).size).toBe(40);
      }),
    );

    it(
      "keeps documents and namespaces apart whose names run together",
      withStore(async ({ store }) => {
        const ab = { collection: "ab", id: "c" };
        const a = { collection: "a", id: "bc" };
        await store.commit(A, {
          documents: [
            { ...ab, data: { is: "ab/c" }, hlc: "000000000000001:000000:d" },
            { ...a, data: { is: "a/bc" }, hlc: "000000000000001:000000:d" },
          ],
        });
        expect((await store.getDocuments(A, [ab, a])).map((d) => d?.data)).toEqual([
          { is: "ab/c" },
          { is: "a/bc" },
        ]);
        const ns1 = { account: "ab", app: "c" };
        const ns2 = { account: "a", app: "bc" };
        await store.commit(ns1, { documents: [doc("x", { in: 1 })] });
        expect(await store.getDocuments(ns2, [{ collection: "settings", id: "x" }])).toEqual([undefined]);
      }),
    );

    it(
      "keeps accounts and apps apart",
      withStore(async ({ store }) => {
        await store.commit(A, {
          documents: [doc("x", { owner: "a" })],
          outboxPut: [entry(1, "x")],
          sync: sync(1),
        });
        await store.commit(B, { documents: [doc("x", { owner: "b" })], sync: sync(2) });
        const key = [{ collection: "settings", id: "x" }];
        expect((await store.getDocuments(A, key))[0]?.data).toEqual({ owner: "a" });
        expect((await store.getDocuments(B, key))[0]?.data).toEqual({ owner: "b" });
        expect(await store.getDocuments(A2, key)).toEqual([undefined]);
        expect(await store.countOutbox(B)).toBe(0);
        expect(await store.readOutbox(A2)).toEqual([]);
        expect((await store.getSync(B))?.checkpoint.seq).toBe(2);
        await store.dropNamespace(A);
        expect(await store.listDocuments(A)).toEqual([]);
        expect(await store.countOutbox(A)).toBe(0);
        expect(await store.getSync(A)).toBeUndefined();
        expect((await store.getDocuments(B, key))[0]?.data).toEqual({ owner: "b" });
      }),
    );

    it(
      "lists documents, deleted ones included, optionally by collection",
      withStore(async ({ store }) => {
        await store.commit(A, {
          documents: [doc("a", { v: 1 }), doc("b", null), { ...doc("c", { v: 3 }), collection: "consent" }],
        });
        expect((await store.listDocuments(A)).map((d) => d.id).sort()).toEqual(["a", "b", "c"]);
        expect((await store.listDocuments(A, "consent")).map((d) => d.id)).toEqual(["c"]);
      }),
    );

    it(
      "applies a commit of thousands of records whole or not at all",
      withStore(async ({ store }) => {
        const ids = Array.from({ length: 2500 }, (_, i) => `d${i}`);
        const poisoned = { v: 2, f: (() => 1) as unknown as number };
        await expect(
          store.commit(A, {
            outboxPut: ids.map((id, i) => entry(i + 1, id)),
            documents: ids.map((id, i) => doc(id, i === ids.length - 1 ? poisoned : { v: i })),
          }),
        ).rejects.toThrow();
        expect(await store.countOutbox(A)).toBe(0);
        expect(await store.listDocuments(A)).toEqual([]);
        await store.commit(A, {
          outboxPut: ids.map((id, i) => entry(i + 1, id)),
          documents: ids.map((id, i) => doc(id, { v: i })),
        });
        expect(await store.countOutbox(A)).toBe(2500);
        expect((await store.listDocuments(A)).length).toBe(2500);
        await store.commit(A, { outboxDelete: ids.map((_, i) => i + 1) });
        expect(await store.countOutbox(A)).toBe(0);
      }),
    );

    it(
      "applies a commit whole or not at all",
      withStore(async ({ store }) => {
        await store.commit(A, { documents: [doc("x", { v: 1 })], outboxPut: [entry(1, "x")], sync: sync(1) });
        const poisoned = { v: 2, f: (() => 1) as unknown as number };
        await expect(
          store.commit(A, {
            documents: [doc("x", { v: 2 }), doc("y", { v: 2 })],
            outboxDelete: [1],
            outboxPut: [entry(2, "y", poisoned)],
            sync: sync(2),
          }),
        ).rejects.toThrow();
        expect((await store.getDocuments(A, [{ collection: "settings", id: "x" }]))[0]?.data).toEqual({
          v: 1,
        });
        expect(await store.getDocuments(A, [{ collection: "settings", id: "y" }])).toEqual([undefined]);
        expect((await store.readOutbox(A)).map((e) => e.seq)).toEqual([1]);
        expect((await store.getSync(A))?.checkpoint.seq).toBe(1);
      }),
    );

    it(
      "hands out copies or frozen records: changing a returned record changes nothing stored",
      withStore(async ({ store }) => {
        await store.commit(A, { documents: [doc("x", { nested: { v: 1 } })], outboxPut: [entry(1, "x")] });
        const [x] = await store.getDocuments(A, [{ collection: "settings", id: "x" }]);
        if (!x?.data) throw new Error("document x missing");
        const [e] = await store.readOutbox(A);
        if (!e?.data) throw new Error("outbox entry missing");
        const attempts = [
          () => {
            (x.data?.nested as { v: number }).v = 99;
          },
          () => {
            (e.data as { v: number }).v = 99;
          },
        ];
        for (const attempt of attempts) {
          try {
            attempt();
          } catch (error) {
            expect(error).toBeInstanceOf(TypeError); // a frozen record refuses the write
          }
        }
        expect((await store.getDocuments(A, [{ collection: "settings", id: "x" }]))[0]?.data).toEqual({
          nested: { v: 1 },
        });
        expect((await store.readOutbox(A))[0]?.data).toEqual({ v: 1 });
      }),
    );

    it(
      "keeps everything across close and reopen",
      withStore(async (s) => {
        await s.store.commit(A, {
          documents: [doc("x", { v: 1 })],
          outboxPut: [entry(1, "x")],
          sync: sync(4),
        });
        if (!s.reopen) {
          expect(await s.store.countOutbox(A)).toBe(1);
          return;
        }
        const again = await s.reopen();
        expect((await again.getDocuments(A, [{ collection: "settings", id: "x" }]))[0]?.data).toEqual({
          v: 1,
        });
        expect(await again.countOutbox(A)).toBe(1);
        expect(await again.getSync(A)).toMatchObject(sync(4));
      }),
    );

    it(
      "says whether it takes acknowledgements, as its setup claims",
      withStore(async ({ store }) => {
        expect(store.acknowledgements === true).toBe(options.acknowledgements === true);
      }),
    );

    if (options.acknowledgements) acknowledgementTests(withStore);
  });
}

/** An acknowledgement of document `id` of {@link doc}'s HLC. */
const ack = (id: string, rev: number, hlc = `000000000000001:000000:${id}`) => ({
  collection: "settings",
  id,
  hlc,
  rev,
  changeId: `ack-${id}-${rev}`,
});

const X = [{ collection: "settings", id: "x" }];

function acknowledgementTests(
  withStore: (fn: (s: LocalStoreSetup) => Promise<void>) => () => Promise<void>,
): void {
  it(
    "gives a document that holds an acknowledged write that write as its base, read one by one or listed",
    withStore(async ({ store }) => {
      const old = { rev: 1, data: { v: 0 }, hlc: "000000000000000:000000:s", changeId: "c0" };
      await store.commit(A, { documents: [doc("x", { v: 1 }, { base: old }), doc("y", { v: 2 })] });
      await store.commit(A, { acknowledged: [ack("x", 2), ack("y", 7)], outboxDelete: [1] });
      const base = { rev: 2, data: { v: 1 }, hlc: "000000000000001:000000:x", changeId: "ack-x-2" };
      expect((await store.getDocuments(A, X))[0]).toEqual(doc("x", { v: 1 }, { base }));
      const listed = await store.listDocuments(A);
      expect(listed.find((d) => d.id === "x")?.base).toEqual(base);
      expect(listed.find((d) => d.id === "y")?.base).toMatchObject({ rev: 7, data: { v: 2 } });
      // Other namespaces see none of it.
      await store.commit(B, { documents: [doc("x", { v: 1 })] });
      expect((await store.getDocuments(B, X))[0]?.base).toBeUndefined();
    }),
  );

  it(
    "leaves alone a document written since the write acknowledged",
    withStore(async ({ store }) => {
      const old = { rev: 1, data: { v: 0 }, hlc: "000000000000000:000000:s", changeId: "c0" };
      await store.commit(A, {
        documents: [doc("x", { v: 9 }, { base: old, hlc: "000000000000009:000000:x" })],
      });
      await store.commit(A, { acknowledged: [ack("x", 2)] });
      expect((await store.getDocuments(A, X))[0]?.base).toEqual(old);
    }),
  );

  it(
    "lets a document written whole after its acknowledgement keep what it was written with",
    withStore(async ({ store }) => {
      await store.commit(A, { documents: [doc("x", { v: 1 })] });
      await store.commit(A, { acknowledged: [ack("x", 2)] });
      // The same write, its base taken away (as a delete of the backup does): the acknowledgement is over.
      await store.commit(A, { documents: [doc("x", { v: 1 })] });
      expect((await store.getDocuments(A, X))[0]?.base).toBeUndefined();
      expect((await store.listDocuments(A))[0]?.base).toBeUndefined();
      // A later acknowledgement of a later write replaces the earlier one.
      await store.commit(A, { documents: [doc("x", { v: 3 }, { hlc: "000000000000005:000000:x" })] });
      await store.commit(A, { acknowledged: [ack("x", 3, "000000000000005:000000:x")] });
      expect((await store.getDocuments(A, X))[0]?.base).toMatchObject({ rev: 3, data: { v: 3 } });
    }),
  );

  it(
    "keeps acknowledgements across close and reopen, shows them to another connection, and drops them with the namespace",
    withStore(async (s) => {
      await s.store.commit(A, { documents: [doc("x", { v: 1 }), doc("y", { v: 2 })] });
      await s.store.commit(A, { acknowledged: [ack("x", 2), ack("y", 2)] });
      const other = s.openAnother ? await s.openAnother() : s.store;
      expect((await other.getDocuments(A, X))[0]?.base?.rev).toBe(2);
      // Written whole through the other connection: this one must not apply what it remembers.
      await other.commit(A, { documents: [doc("x", { v: 1 })] });
      expect((await s.store.getDocuments(A, X))[0]?.base).toBeUndefined();
      const store = s.reopen ? await s.reopen() : s.store;
      expect((await store.listDocuments(A)).map((d) => d.base?.rev)).toEqual([undefined, 2]);
      await store.dropNamespace(A);
      await store.commit(A, { documents: [doc("y", { v: 2 })] });
      expect((await store.getDocuments(A, [{ collection: "settings", id: "y" }]))[0]?.base).toBeUndefined();
    }),
  );
}
