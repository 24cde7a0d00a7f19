import { runLocalStoreTests } from "@hokan/core/conformance";
import { expect, it } from "vitest";
import { DexieStore } from "../src/index.js";

it("runs in a real browser with a real IndexedDB", () => {
  expect(typeof window).toBe("object");
  expect(globalThis.indexedDB?.constructor.name).toBe("IDBFactory");
});

let counter = 0;
runLocalStoreTests(
  "DexieStore in Chromium",
  async () => {
    const name = `hokan-conformance-${Date.now()}-${counter++}`;
    let store = new DexieStore({ name });
    const others: DexieStore[] = [];
    return {
      store,
      openAnother: async () => {
        const other = new DexieStore({ name });
        others.push(other);
        return other;
      },
      reopen: async () => {
        await store.close();
        store = new DexieStore({ name });
        return store;
      },
      teardown: async () => {
        for (const o of others) await o.close();
        await store.close();
        await new Promise<void>((resolve) => {
          const request = indexedDB.deleteDatabase(name);
          request.onsuccess = request.onerror = request.onblocked = () => resolve();
        });
      },
    };
  },
  { acknowledgements: true },
);
