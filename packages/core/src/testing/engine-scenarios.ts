import { describe, expect, it } from "vitest";
import type { LocalStore } from "../ports.js";
import { randomId } from "../runtime.js";
import { type SimApp, type SimDevice, SimWorld } from "./simulation.js";

const MAIL: SimApp = {
  scope: { appId: "jp.example.mail", appVersion: "3.0.0", platform: "android" },
  collections: { settings: "merge", consent: "lww" },
};

const serverDocs = (world: SimWorld, account: string) =>
  Object.fromEntries(
    world.server
      .documents(account, MAIL.scope.appId)
      .filter((d) => d.data !== null)
      .map((d) => [`${d.collection}/${d.id}`, d.data]),
  );

/**
 * The engine's scenarios on a store of your own, each device with a store of its own (as each phone or browser
 * profile has): offline edits across restarts (scenario 1), roaming (2), a restore and concurrent edits merged (3
 * and 4), a bulk delete against another device's queued changes (5), an account switch on one device (10). Run it
 * beside {@link runLocalStoreTests}: a store can pass that suite and still lose something the engine relies on.
 * `openStore` opens a fresh, empty store for a device.
 */
export function runEngineScenarios(name: string, openStore: (deviceId: string) => Promise<LocalStore>): void {
  const device = async (world: SimWorld, id: string, accountId: string, online = true): Promise<SimDevice> =>
    world.device({ id, accountId, online, store: await openStore(id) });

  describe(`the engine on ${name}`, () => {
    it("keeps offline changes across app restarts and backs them up once online (scenario 1)", async () => {
      const world = new SimWorld();
      const phone = await device(world, "phone", "alice", false);
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
      const phone = await device(world, "phone", "alice");
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

    it("restores onto a new device and merges concurrent edits (scenarios 3 and 4)", async () => {
      const world = new SimWorld();
      const a = await device(world, "a", "alice");
      const ma = await a.open(MAIL);
      await ma.put("settings", "prefs", { theme: "light", font: 12 });
      await world.settle();
      const b = await device(world, "b", "alice");
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

    it("keeps a bulk delete final against another device's queued changes (scenario 5)", async () => {
      const world = new SimWorld();
      const a = await device(world, "a", "alice");
      const b = await device(world, "b", "alice");
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
      const bob = await device(world, "bobs", "bob");
      await (await bob.open(MAIL)).put("settings", "owner", { name: "bob" });
      await world.settle();
      const shared = await device(world, "shared", "alice");
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
}
