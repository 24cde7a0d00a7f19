import { runLocalStoreTests } from "@hokan/core/conformance";
import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import { DexieStore } from "../src/index.js";

runLocalStoreTests(
  "DexieStore on fake-indexeddb",
  async () => {
    const indexedDB = new IDBFactory();
    const options = { indexedDB, IDBKeyRange, name: "hokan-test" };
    let store = new DexieStore(options);
    const others: DexieStore[] = [];
    return {
      store,
      openAnother: async () => {
        const other = new DexieStore(options);
        others.push(other);
        return other;
      },
      reopen: async () => {
        await store.close();
        store = new DexieStore(options);
        return store;
      },
      teardown: async () => {
        for (const o of others) await o.close();
        await store.close();
      },
    };
  },
  { acknowledgements: true },
);
