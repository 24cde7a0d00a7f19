import type { SimApp } from "@hokan/core/testing";
import { SimWorld } from "@hokan/core/testing";
import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import { describe, expect, it } from "vitest";
import { DexieStore } from "../src/index.js";

const MAIL: SimApp = {
  scope: { appId: "jp.example.mail", appVersion: "3.0.0", platform: "android" },
  collections: { settings: "merge", consent: "lww" },
};

/** A device whose store is IndexedDB (fake-indexeddb), one database per device as in a browser profile. */
function dexieDevice(world: SimWorld, id: string, accountId: string, online = true) {
  const store = new DexieStore({ indexedDB: new IDBFactory(), IDBKeyRange, name: `hokan-${id}` });
  return world.device({ id, accountId, online, store });
}

describe("the engine on IndexedDB", () => {
  it("keeps offline changes across app restarts and backs them up once online (scenario 1)", async () => {
    const world = new SimWorld();
    const phone = dexieDevice(world, "phone", "alice", false);
    const mail = await phone.open(MAIL);
    await mail.put("consent", "tos", { version: 3, accepted: true });
    await mail.put("settings", "theme", { mode: "dark" });
    await phone.restart();
    await phone.app(MAIL.scope.appId).put("settings", "theme", { mode: "light" });
    await phone.restart();
    expect(phone.app(MAIL.scope.appId).status.pending).toBe(2);
    phone.setOnline(true);
    await world.settle();
    const stored = world.server.documents("alice", MAIL.scope.appId).map((d) => [d.id, d.data]);
    expect(stored).toEqual([
      ["tos", { version: 3, accepted: true }],
      ["theme", { mode: "light" }],
    ]);
    await world.close();
  });

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

  it("restores onto a new device and merges concurrent edits (scenarios 3 and 4)", async () => {
    const world = new SimWorld();
    const a = dexieDevice(world, "a", "alice");
    const ma = await a.open(MAIL);
    await ma.put("settings", "prefs", { theme: "light", font: 12 });
    await world.settle();
    const b = dexieDevice(world, "b", "alice");
    const mb = await b.open(MAIL);
    await world.settle();
    expect(await mb.get("settings", "prefs")).toEqual({ theme: "light", font: 12 });
    a.setOnline(false);
    b.setOnline(false);
    await ma.put("settings", "prefs", { theme: "dark", font: 12 });
    await mb.put("settings", "prefs", { theme: "light", font: 16 });
    a.setOnline(true);
    b.setOnline(true);
    await world.settle();
    expect(await ma.get("settings", "prefs")).toEqual({ theme: "dark", font: 16 });
    expect(await mb.get("settings", "prefs")).toEqual({ theme: "dark", font: 16 });
    await world.close();
  });

  it("keeps accounts apart on one device and restores the right one after a switch (scenario 10)", async () => {
    const world = new SimWorld();
    const bob = dexieDevice(world, "bobs", "bob");
    await (await bob.open(MAIL)).put("settings", "owner", { name: "bob" });
    await world.settle();
    const shared = dexieDevice(world, "shared", "alice");
    const alice = await shared.open(MAIL);
    await alice.put("settings", "owner", { name: "alice" });
    await world.settle();
    shared.setOnline(false);
    await alice.put("settings", "queued", { name: "alice" });
    await shared.switchAccount("bob");
    shared.setOnline(true);
    await world.settle();
    const asBob = shared.app(MAIL.scope.appId);
    expect(await asBob.get("settings", "owner")).toEqual({ name: "bob" });
    expect(await asBob.get("settings", "queued")).toBeUndefined();
    expect(world.server.log.filter((l) => l.accountId === "bob").map((l) => l.document.id)).toEqual([
      "owner",
    ]);
    await shared.switchAccount("alice");
    await world.settle();
    expect(await shared.app(MAIL.scope.appId).get("settings", "owner")).toEqual({ name: "alice" });
    expect(world.server.documents("alice", MAIL.scope.appId).map((d) => d.id)).toEqual(["owner", "queued"]);
    await world.close();
  });
});
