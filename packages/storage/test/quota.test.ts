import type { LocalStore, Namespace, StoreCommit } from "@hokan/core";
import { type SimApp, SimWorld } from "@hokan/core/testing";
import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import { expect, it } from "vitest";
import { DexieStore, toStorageError } from "../src/index.js";

const MAIL: SimApp = {
  scope: { appId: "jp.example.mail", appVersion: "3.0.0", platform: "android" },
  collections: { settings: "merge" },
};

/** A device whose disk fills up: commits fail as IndexedDB fails them, until space is freed. */
class FullDisk implements LocalStore {
  full = false;
  readonly getDocuments: LocalStore["getDocuments"];
  readonly listDocuments: LocalStore["listDocuments"];
  readonly readOutbox: LocalStore["readOutbox"];
  readonly outboxFor: LocalStore["outboxFor"];
  readonly countOutbox: LocalStore["countOutbox"];
  readonly getSync: LocalStore["getSync"];
  readonly dropNamespace: LocalStore["dropNamespace"];
  readonly close: LocalStore["close"];
  constructor(private readonly inner: DexieStore) {
    this.getDocuments = (...a) => inner.getDocuments(...a);
    this.listDocuments = (...a) => inner.listDocuments(...a);
    this.readOutbox = (...a) => inner.readOutbox(...a);
    this.outboxFor = (...a) => inner.outboxFor(...a);
    this.countOutbox = (...a) => inner.countOutbox(...a);
    this.getSync = (...a) => inner.getSync(...a);
    this.dropNamespace = (...a) => inner.dropNamespace(...a);
    this.close = () => inner.close();
  }
  async commit(ns: Namespace, change: StoreCommit): Promise<readonly number[] | undefined | undefined> {
    if (this.full) {
      const quota = {
        name: "AbortError",
        message: "transaction aborted",
        inner: { name: "QuotaExceededError" },
      };
      throw toStorageError(quota, "commit");
    }
    return this.inner.commit(ns, change);
  }
}

it("reports a full device as `quota` in status, keeps what is stored, and carries on once space is freed", async () => {
  const world = new SimWorld();
  const other = await world.device({ id: "other", accountId: "alice" }).open(MAIL);
  await other.put("settings", "theme", { mode: "dark" });
  await world.settle();

  const disk = new FullDisk(new DexieStore({ indexedDB: new IDBFactory(), IDBKeyRange, name: "full" }));
  const phone = world.device({ id: "phone", accountId: "alice", store: disk, online: false });
  const mail = await phone.open(MAIL);
  await mail.put("settings", "font", { size: 14 });
  disk.full = true;
  await expect(mail.put("settings", "font", { size: 16 })).rejects.toMatchObject({ code: "quota" });
  phone.setOnline(true);
  await world.runtime.runUntil(() => mail.status.state === "backoff");
  // Restoring needs space: it waits and retries; backup is not refused as if the account's quota were used up.
  expect(mail.status.lastError).toMatchObject({ code: "quota", retryable: true });
  expect(mail.status.backup.kind).toBe("allowed");
  expect(mail.status.state).toBe("backoff");
  expect(await mail.get("settings", "font")).toEqual({ size: 14 });
  disk.full = false;
  await world.settle();
  expect(await mail.get("settings", "theme")).toEqual({ mode: "dark" });
  expect(world.server.documents("alice", MAIL.scope.appId).map((d) => [d.id, d.data])).toEqual([
    ["theme", { mode: "dark" }],
    ["font", { size: 14 }],
  ]);
  expect(mail.status.lastError).toBeUndefined();
  await world.close();
});
