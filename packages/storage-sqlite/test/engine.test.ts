import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomId } from "@hokan/core";
import { type SimApp, SimWorld } from "@hokan/core/testing";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { betterSqlite3Driver } from "../src/better-sqlite3.js";
import { SqliteStore } from "../src/index.js";

const MAIL: SimApp = {
  scope: { appId: "jp.example.mail", appVersion: "3.0.0", platform: "android" },
  collections: { settings: "merge", consent: "lww" },
};
const dir = mkdtempSync(join(tmpdir(), "hokan-sqlite-engine-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A device whose store is a SQLite file of its own, as a phone's app has. */
async function sqliteDevice(world: SimWorld, id: string, accountId: string, online = true) {
  const file = join(dir, `${id}-${randomId(world.runtime)}.db`);
  const store = await SqliteStore.open(betterSqlite3Driver(new Database(file)));
  return world.device({ id, accountId, online, store });
}
const serverDocs = (world: SimWorld, account: string) =>
  Object.fromEntries(
    world.server
      .documents(account, MAIL.scope.appId)
      .filter((d) => d.data !== null)
      .map((d) => [`${d.collection}/${d.id}`, d.data]),
  );

describe("the engine on SQLite", () => {
  it("keeps offline changes across app restarts and backs them up once online (scenario 1)", async () => {
    const world = new SimWorld();
    const phone = await sqliteDevice(world, "phone", "alice", false);
    const mail = await phone.open(MAIL);
    await mail.put("consent", "tos", { version: 3, accepted: true });
    await mail.put("settings", "theme", { mode: "dark" });
    await phone.restart();
    await phone.app(MAIL.scope.appId).put("settings", "theme", { mode: "light" });
    await phone.restart();
    expect(phone.app(MAIL.scope.appId).status.pending).toBe(2);
    phone.setOnline(true);
    await world.settle();
    expect(serverDocs(world, "alice")).toEqual({
      "consent/tos": { version: 3, accepted: true },
      "settings/theme": { mode: "light" },
    });
    await world.close();
  });

  it("holds while roaming with overseas use off and releases when it is on (scenario 2)", async () => {
    const world = new SimWorld();
    const phone = await sqliteDevice(world, "phone", "alice");
    phone.setRoaming(true);
    const mail = await phone.open(MAIL);
    await mail.put("settings", "sig", { text: "from abroad" });
    await world.settle();
    expect(mail.status.reason).toBe("roaming");
    expect(serverDocs(world, "alice")).toEqual({});
    phone.updateSettings({ overseasEnabled: true });
    await world.settle();
    expect(serverDocs(world, "alice")).toEqual({ "settings/sig": { text: "from abroad" } });
    await world.close();
  });

  it("keeps a bulk delete final against another device's queued changes (scenario 5)", async () => {
    const world = new SimWorld();
    const a = await sqliteDevice(world, "a", "alice");
    const b = await sqliteDevice(world, "b", "alice");
    const [ma, mb] = [await a.open(MAIL), await b.open(MAIL)];
    await ma.put("settings", "x", { v: 1 });
    await world.settle();
    b.setOnline(false);
    await mb.put("settings", "x", { v: 2, queued: "before delete" });
    await world.run(a.link.transport.deleteAll(randomId(world.runtime)));
    b.setOnline(true);
    await world.settle();
    expect(serverDocs(world, "alice")).toEqual({});
    expect(mb.status.pending).toBe(0);
    await mb.put("settings", "z", { v: 1, after: "delete" });
    await world.settle();
    expect(serverDocs(world, "alice")).toEqual({ "settings/z": { v: 1, after: "delete" } });
    expect(await ma.get("settings", "z")).toEqual({ v: 1, after: "delete" });
    await world.close();
  });

  it("keeps accounts apart on one device and restores the right one after a switch (scenario 10)", async () => {
    const world = new SimWorld();
    const bob = await sqliteDevice(world, "bobs", "bob");
    await (await bob.open(MAIL)).put("settings", "owner", { name: "bob" });
    await world.settle();
    const shared = await sqliteDevice(world, "shared", "alice");
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
    await shared.switchAccount("alice");
    await world.settle();
    expect(await shared.app(MAIL.scope.appId).get("settings", "owner")).toEqual({ name: "alice" });
    expect(serverDocs(world, "alice")).toEqual({
      "settings/owner": { name: "alice" },
      "settings/queued": { name: "alice" },
    });
    await world.close();
  });
});
