import { HokanError } from "@hokan/core";
import { forceCloseDatabase, IDBFactory, IDBKeyRange } from "fake-indexeddb";
import { describe, expect, it } from "vitest";
import { DexieStore, isClosed, toStorageError } from "../src/index.js";

const NS = { account: "alice", app: "jp.example.mail" };

/** An IndexedDB factory that remembers the connections it opened, so a test can have the "browser" close them. */
function trackingFactory() {
  const inner = new IDBFactory();
  const connections: IDBDatabase[] = [];
  const factory = new Proxy(inner, {
    get(target, prop) {
      if (prop === "open") {
        return (name: string, version?: number) => {
          const request = target.open(name, version);
          request.addEventListener("success", () => connections.push(request.result));
          return request;
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { factory, connections };
}

describe("storage errors", () => {
  it("turns a full disk into `quota`, however deep the browser wraps it", () => {
    const wrapped = {
      name: "AbortError",
      message: "aborted",
      inner: { name: "QuotaExceededError", message: "full" },
    };
    const e = toStorageError(wrapped, "commit");
    expect(e.code).toBe("quota");
    expect(e.retryable).toBe(true);
    expect(e.details).toEqual({ where: "device" });
    expect(e.message).toContain("commit");
  });

  it("turns other failures into retryable `storage` errors, and unstorable values into final ones", () => {
    expect(toStorageError(new Error("disk on fire"), "read")).toMatchObject({
      code: "storage",
      retryable: true,
    });
    expect(toStorageError({ name: "DataCloneError", message: "function" }, "commit")).toMatchObject({
      code: "storage",
      retryable: false,
    });
    const mine = new HokanError("quota", "x");
    expect(toStorageError(mine, "read")).toBe(mine);
  });

  it("recognises a connection the browser closed", () => {
    expect(isClosed({ name: "DatabaseClosedError" })).toBe(true);
    expect(isClosed({ name: "UnknownError", message: "Connection to Indexed Database server lost" })).toBe(
      true,
    );
    expect(isClosed(new Error("other"))).toBe(false);
  });

  it("reopens a database the browser closed (as after backgrounding) and loses nothing", async () => {
    const { factory, connections } = trackingFactory();
    const store = new DexieStore({ indexedDB: factory, IDBKeyRange, name: "closing" });
    await store.commit(NS, {
      outboxPut: [{ seq: 1, collection: "c", id: "a", data: { v: 1 }, hlc: "h", changeId: "x", epoch: 1 }],
    });
    expect(connections.length).toBe(1);
    forceCloseDatabase(connections[0] as never);
    expect(await store.countOutbox(NS)).toBe(1);
    await store.commit(NS, {
      outboxPut: [{ seq: 2, collection: "c", id: "b", data: { v: 2 }, hlc: "h", changeId: "y", epoch: 1 }],
    });
    expect((await store.readOutbox(NS)).map((e) => e.seq)).toEqual([1, 2]);
    await store.close();
  });

  it("answers with a typed error once closed by its owner", async () => {
    const store = new DexieStore({ indexedDB: new IDBFactory(), IDBKeyRange, name: "closed" });
    await store.close();
    await expect(store.countOutbox(NS)).rejects.toMatchObject({ name: "HokanError", code: "storage" });
  });

  it("keeps device values such as the device settings", async () => {
    const options = { indexedDB: new IDBFactory(), IDBKeyRange, name: "device" };
    const store = new DexieStore(options);
    await store.setDeviceValue("settings", { backupEnabled: true, overseasEnabled: false });
    await store.close();
    const again = new DexieStore(options);
    expect(await again.getDeviceValue("settings")).toEqual({ backupEnabled: true, overseasEnabled: false });
    expect(await again.getDeviceValue("missing")).toBeUndefined();
    await again.close();
  });
});
