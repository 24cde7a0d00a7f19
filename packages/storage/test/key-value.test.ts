import { SimWorld } from "@hokan/core/testing";
import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import { describe, expect, it } from "vitest";
import { createKeyValue, DexieStore } from "../src/index.js";

const APP = {
  scope: { appId: "jp.example.mail", appVersion: "3.0.0", platform: "android" as const },
  collections: { kv: "lww" as const },
};

describe("key/value API", () => {
  it("stores, observes, deletes and restores values on another device", async () => {
    const world = new SimWorld();
    const store = new DexieStore({ indexedDB: new IDBFactory(), IDBKeyRange, name: "kv" });
    const phone = world.device({ id: "phone", accountId: "alice", store });
    const kv = createKeyValue(await phone.open(APP));
    const seen: unknown[] = [];
    const sub = kv.observe<string>("theme").subscribe((v) => seen.push(v));
    await kv.set("theme", "dark");
    await kv.set("consent", { tos: 3, accepted: true });
    await kv.set("theme", "dark");
    await kv.set("theme", "light");
    expect(await kv.get("theme")).toBe("light");
    expect((await kv.keys()).sort()).toEqual(["consent", "theme"]);
    await world.settle();

    const tablet = world.device({ id: "tablet", accountId: "alice" });
    const kv2 = createKeyValue(await tablet.open(APP));
    await world.settle();
    expect(await kv2.get("consent")).toEqual({ tos: 3, accepted: true });
    await kv2.delete("theme");
    await world.settle();
    expect(await kv.get("theme")).toBeUndefined();
    expect(seen).toEqual([undefined, "dark", "light", undefined]);
    sub.unsubscribe();
    await world.close();
  });

  it("refuses bad keys and undefined values", async () => {
    const world = new SimWorld();
    const kv = createKeyValue(await world.device({ id: "d", accountId: "alice" }).open(APP));
    await expect(kv.get("")).rejects.toMatchObject({ code: "bad-request" });
    await expect(kv.delete("k".repeat(300))).rejects.toMatchObject({ code: "bad-request" });
    await expect(kv.set("x", undefined as never)).rejects.toMatchObject({ code: "bad-request" });
    await world.close();
  });
});
