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
  it("stores a backed-up document's data once: its server base is the same object", async () => {
    const world = new SimWorld();
    const indexedDB = new IDBFactory();
    const store = new DexieStore({ indexedDB, IDBKeyRange, name: "hokan-once" });
    const phone = world.device({ id: "phone", accountId: "alice", online: true, store });
    const mail = await phone.open(MAIL);
    await mail.put("settings", "theme", { mode: "dark", sizes: [1, 2, 3] });
    await world.settle();
    const ns = { account: "alice", app: MAIL.scope.appId };
    const [doc] = await store.getDocuments(ns, [{ collection: "settings", id: "theme" }]);
    expect(doc?.base?.rev).toBe(1);
    // Structured clone keeps identity within a record: one object here means one copy written and read.
    expect(doc?.base?.data).toBe(doc?.data);
    expect(doc?.data).toEqual({ mode: "dark", sizes: [1, 2, 3] });
    // A write after the backup gets its own data; the base stays the server's.
    await mail.put("settings", "theme", { mode: "light", sizes: [1, 2, 3] });
    const [after] = await store.getDocuments(ns, [{ collection: "settings", id: "theme" }]);
    expect(after?.data).toEqual({ mode: "light", sizes: [1, 2, 3] });
    expect(after?.base?.data).toEqual({ mode: "dark", sizes: [1, 2, 3] });
    await world.close();
  });
});

// Each device an IndexedDB of its own, as a browser profile has.
runEngineScenarios(
  "IndexedDB (Dexie on fake-indexeddb)",
  async (deviceId) => new DexieStore({ indexedDB: new IDBFactory(), IDBKeyRange, name: `hokan-${deviceId}` }),
);
