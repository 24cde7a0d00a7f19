import { runEngineScenarios } from "@hokan/core/conformance";
import type { SimApp } from "@hokan/core/testing";
import { SimWorld } from "@hokan/core/testing";
import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import { describe, expect, it } from "vitest";
import { DexieStore } from "../src/index.js";

const MAIL: SimApp = {
  scope: { appId: "jp.example.mail", appVersion: "3.0.0", platform: "android" },
  collections: { settings: "merge", consent: "lww" },
};

describe("the engine on IndexedDB", () => {
  it("stores a backed-up document's data once: the push's answer writes its base apart, not the document again", async () => {
    const world = new SimWorld();
    const indexedDB = new IDBFactory();
    const store = new DexieStore({ indexedDB, IDBKeyRange, name: "hokan-once" });
    const phone = world.device({ id: "phone", accountId: "alice", online: true, store });
    const mail = await phone.open(MAIL);
    await mail.put("settings", "theme", { mode: "dark", sizes: [1, 2, 3] });
    await mail.put("settings", "font", { size: 12 });
    await world.settle();
    const ns = { account: "alice", app: MAIL.scope.appId };
    const [doc] = await store.getDocuments(ns, [{ collection: "settings", id: "theme" }]);
    expect(doc?.base?.rev).toBe(1);
    // The base is the document's own data, read once.
    expect(doc?.base?.data).toBe(doc?.data);
    // In IndexedDB the records are as the app's writes left them: the answer went in one row of acknowledgements.
    const raw = await rawRecords(indexedDB, "hokan-once");
    expect(raw.documents.map((d) => [d.id, d.base])).toEqual([
      ["font", undefined],
      ["theme", undefined],
    ]);
    expect(raw.acks.map((row) => (row.acks as string[][]).map(([key]) => key).sort())).toEqual([
      [JSON.stringify(["settings", "font"]), JSON.stringify(["settings", "theme"])],
    ]);
    expect(doc?.data).toEqual({ mode: "dark", sizes: [1, 2, 3] });
    // A write after the backup gets its own data; the base stays the server's.
    await mail.put("settings", "theme", { mode: "light", sizes: [1, 2, 3] });
    const [after] = await store.getDocuments(ns, [{ collection: "settings", id: "theme" }]);
    expect(after?.data).toEqual({ mode: "light", sizes: [1, 2, 3] });
    expect(after?.base?.data).toEqual({ mode: "dark", sizes: [1, 2, 3] });
    await world.close();
  });
});

/** Every record of the documents and acknowledgements tables, read past the store. */
async function rawRecords(indexedDB: IDBFactory, name: string) {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open(name);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const all = (table: string) =>
    new Promise<Record<string, unknown>[]>((resolve, reject) => {
      const request = db.transaction(table).objectStore(table).getAll();
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  const records = { documents: await all("documents"), acks: await all("acks") };
  db.close();
  return records;
}

// Each device an IndexedDB of its own, as a browser profile has.
runEngineScenarios(
  "IndexedDB (Dexie on fake-indexeddb)",
  async (deviceId) => new DexieStore({ indexedDB: new IDBFactory(), IDBKeyRange, name: `hokan-${deviceId}` }),
);
