import { type SimApp, SimWorld } from "@hokan/core/testing";
import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import { describe, expect, it } from "vitest";
import { DexieStore } from "../src/index.js";

const MAIL: SimApp = {
  scope: { appId: "jp.example.mail", appVersion: "3.0.0", platform: "android" },
  collections: { settings: "merge" },
};

/**
 * An IndexedDB whose process "dies" at the n-th transaction: that transaction is aborted before it can commit (as
 * when power is lost mid-write), and every later one too, until the test "restarts" with a fresh connection.
 */
function crashingFactory(crashAt: number) {
  const inner = new IDBFactory();
  let transactions = 0;
  let dead = false;
  const dying = new Proxy(inner, {
    get(target, prop) {
      if (prop === "open") {
        return (name: string, version?: number) => {
          const request = target.open(name, version);
          request.addEventListener("success", () => {
            const db = request.result;
            const original = db.transaction.bind(db);
            // This connection belongs to the process that dies: from the n-th write on, nothing commits.
            db.transaction = ((...args: Parameters<IDBDatabase["transaction"]>) => {
              const tx = original(...args);
              if (args[1] === "readwrite" && ++transactions >= crashAt) dead = true;
              if (dead) queueMicrotask(() => tx.abort());
              return tx;
            }) as IDBDatabase["transaction"];
          });
          return request;
        };
      }
      const v = Reflect.get(target, prop);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { dying: dying as IDBFactory, healthy: inner };
}

describe("crash safety on IndexedDB", () => {
  for (const crashAt of [1, 2, 3, 5, 8, 12, 13]) {
    it(`keeps every acknowledged offline write, exactly once, when the app dies at write transaction ${crashAt}`, async () => {
      const world = new SimWorld({ seed: crashAt });
      const { dying, healthy } = crashingFactory(crashAt);
      const name = `crash-${crashAt}`;
      const before = world.device({
        id: "phone",
        accountId: "alice",
        online: false,
        store: new DexieStore({ indexedDB: dying, IDBKeyRange, name }),
      });
      const mail = await before.open(MAIL).catch(() => undefined);
      const acknowledged = new Map<string, number>();
      let succeeded = 0;
      for (let i = 0; i < 12 && mail; i++) {
        const id = `doc-${i % 5}`;
        const ok = await mail.put("settings", id, { v: i }).then(
          () => true,
          () => false,
        );
        if (ok) {
          acknowledged.set(id, i);
          succeeded++;
        }
      }
      // The crash really happened where it was meant to: writes after it were refused, never half-stored.
      expect(succeeded).toBe(Math.min(12, crashAt - 1));
      // The process is gone: nothing is closed or flushed. A new process opens the same database.
      const after = world.device({
        id: "phone-restarted",
        accountId: "alice",
        store: new DexieStore({ indexedDB: healthy, IDBKeyRange, name }),
      });
      const again = await after.open(MAIL);
      await world.settle();
      expect(again.status.pending).toBe(0);
      const server = world.server.documents("alice", MAIL.scope.appId);
      expect(Object.fromEntries(server.map((d) => [d.id, d.data?.v]))).toEqual(
        Object.fromEntries(acknowledged),
      );
      // Exactly once: one accepted change per document, none applied twice.
      expect(world.server.log.length).toBe(acknowledged.size);
      await world.close();
    });
  }

  it("applies a push exactly once when the app dies after the server committed it", async () => {
    const world = new SimWorld();
    const indexedDB = new IDBFactory();
    const store = () => new DexieStore({ indexedDB, IDBKeyRange, name: "mid-push" });
    const phone = world.device({ id: "phone", accountId: "alice", store: store() });
    const mail = await phone.open(MAIL);
    await world.settle();
    world.network.faults = { ...world.network.faults, dropResponse: 1 };
    await mail.put("settings", "a", { v: 1 });
    await world.runtime.runUntil(() => world.server.log.length === 1);
    world.network.faults = { ...world.network.faults, dropResponse: 0 };
    const restarted = world.device({ id: "phone-2", accountId: "alice", store: store() });
    const again = await restarted.open(MAIL);
    await world.settle();
    expect(again.status.pending).toBe(0);
    expect(world.server.log).toHaveLength(1);
    expect(world.server.documents("alice", MAIL.scope.appId)[0]).toMatchObject({ rev: 1, data: { v: 1 } });
    await world.close();
  });
});
