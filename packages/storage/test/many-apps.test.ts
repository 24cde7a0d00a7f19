import { openRegistry, type SimApp, SimWorld } from "@hokan/core/testing";
import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import { expect, it } from "vitest";
import { DexieStore } from "../src/index.js";

it("holds 50 apps × 3 accounts in one store, each namespace apart, with no per-app tables", async () => {
  const apps: SimApp[] = Array.from({ length: 50 }, (_, i) => ({
    scope: { appId: `jp.example.app${i}`, appVersion: "1.0.0", platform: "android" },
    collections: { settings: "lww" },
  }));
  const world = new SimWorld({ registry: openRegistry(apps.map((a) => a.scope.appId)) });
  const indexedDB = new IDBFactory();
  const store = new DexieStore({ indexedDB, IDBKeyRange, name: "many" });
  const device = world.device({ id: "hub", accountId: "acct-0", store });
  for (const account of ["acct-0", "acct-1", "acct-2"]) {
    if (device.accountId !== account) await device.switchAccount(account);
    for (const app of apps) {
      const r = await device.open(app);
      await r.put("settings", "owner", { account, app: app.scope.appId });
    }
    await world.settle();
  }
  for (const account of ["acct-0", "acct-1", "acct-2"]) {
    for (const app of apps) {
      const ns = { account, app: app.scope.appId };
      const local = await store.listDocuments(ns);
      expect(local.map((d) => d.data)).toEqual([{ account, app: app.scope.appId }]);
      expect(await store.countOutbox(ns)).toBe(0);
      expect(world.server.documents(account, app.scope.appId).map((d) => d.data)).toEqual([
        { account, app: app.scope.appId },
      ]);
    }
  }
  // One database with the same tables, however many apps and accounts.
  const names = await new Promise<string[]>((resolve, reject) => {
    const req = indexedDB.open("many");
    req.onsuccess = () => {
      resolve([...req.result.objectStoreNames]);
      req.result.close();
    };
    req.onerror = () => reject(req.error);
  });
  expect(names.sort()).toEqual(["acks", "counts", "device", "documents", "outbox", "sync"]);
  await world.close();
  await store.close();
}, 60_000);
