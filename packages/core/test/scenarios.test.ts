import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { type ConflictHandler, randomId } from "../src/index.js";
import { BAD_NETWORK, SimWorld } from "../src/testing/index.js";
import { applyYjsDocument, encodeYDoc, type YjsDocument } from "../src/yjs.js";
import { MAIL, NOTES, serverDocs } from "./helpers.js";

describe("scenario 1: offline edits", () => {
  it("queue while offline, coalesce per document, and reach the server when online", async () => {
    const world = new SimWorld();
    const phone = world.device({ id: "phone", accountId: "alice", online: false });
    const mail = await phone.open(MAIL);
    for (let v = 1; v <= 5; v++) await mail.put("settings", "theme", { mode: `v${v}` });
    await mail.put("consent", "tos", { version: 3, accepted: true });
    await world.settle();
    expect(mail.status.pending).toBe(2);
    expect(mail.status.reason).toBe("offline");
    expect(world.server.log).toEqual([]);
    phone.setOnline(true);
    await world.settle();
    expect(mail.status.pending).toBe(0);
    expect(serverDocs(world, "alice", MAIL.scope.appId)).toEqual({
      "settings/theme": { mode: "v5" },
      "consent/tos": { version: 3, accepted: true },
    });
  });

  it("survive the app being killed and restarted while offline", async () => {
    const world = new SimWorld();
    const phone = world.device({ id: "phone", accountId: "alice", online: false });
    const mail = await phone.open(MAIL);
    await mail.put("settings", "a", { v: 1 });
    await mail.put("settings", "b", { v: 2 });
    await phone.restart();
    await phone.app(MAIL.scope.appId).put("settings", "a", { v: 3 });
    await phone.restart();
    expect(phone.app(MAIL.scope.appId).status.pending).toBe(2);
    phone.setOnline(true);
    await world.settle();
    expect(serverDocs(world, "alice", MAIL.scope.appId)).toEqual({
      "settings/a": { v: 3 },
      "settings/b": { v: 2 },
    });
  });

  it("are applied exactly once when the app is killed after the server committed but before it answered", async () => {
    const world = new SimWorld();
    const phone = world.device({ id: "phone", accountId: "alice" });
    const mail = await phone.open(MAIL);
    await world.settle();
    world.network.faults = { ...world.network.faults, dropResponse: 1 };
    await mail.put("settings", "a", { v: 1 });
    await world.runtime.runUntil(() => world.server.log.length === 1);
    await phone.restart();
    world.network.faults = { ...world.network.faults, dropResponse: 0 };
    await world.settle();
    expect(world.server.log).toHaveLength(1);
    expect(world.server.documents("alice", MAIL.scope.appId)[0]).toMatchObject({
      id: "a",
      rev: 1,
      data: { v: 1 },
    });
    expect(phone.app(MAIL.scope.appId).status.pending).toBe(0);
  });

  it("reach the server in order per document over a network that drops, duplicates and reorders", async () => {
    const world = new SimWorld({ seed: 7, faults: BAD_NETWORK });
    const phone = world.device({ id: "phone", accountId: "alice" });
    const mail = await phone.open(MAIL);
    for (let v = 1; v <= 90; v++) {
      await mail.put("settings", `k${v % 3}`, { v });
      await world.runtime.advance(world.runtime.prng.int(0, 40));
    }
    await world.settle();
    for (const key of ["k0", "k1", "k2"]) {
      const values = world.server.log
        .filter((l) => l.document.id === key)
        .map((l) => l.document.data?.v as number);
      expect(values).toEqual([...values].sort((a, b) => a - b));
    }
    expect(serverDocs(world, "alice", MAIL.scope.appId)).toEqual({
      "settings/k0": { v: 90 },
      "settings/k1": { v: 88 },
      "settings/k2": { v: 89 },
    });
    expect(world.network.stats.droppedRequests + world.network.stats.droppedResponses).toBeGreaterThan(0);
  });
});

describe("scenario 2: roaming and the backup switch", () => {
  it("holds backup and restore while roaming with overseas use off, and releases them when overseas use is on", async () => {
    const world = new SimWorld();
    const home = world.device({ id: "home", accountId: "alice" });
    const homeMail = await home.open(MAIL);
    await homeMail.put("settings", "lang", { value: "ja" });
    await world.settle();
    const traveller = world.device({ id: "traveller", accountId: "alice" });
    traveller.setRoaming(true);
    const mail = await traveller.open(MAIL);
    await mail.put("settings", "sig", { text: "from abroad" });
    await world.settle();
    expect(mail.status.backup).toEqual({ kind: "held", reason: "roaming" });
    expect(mail.status.restore).toEqual({ kind: "held", reason: "roaming" });
    expect(await mail.get("settings", "lang")).toBeUndefined();
    expect(serverDocs(world, "alice", MAIL.scope.appId)["settings/sig"]).toBeUndefined();
    traveller.updateSettings({ overseasEnabled: true });
    await world.settle();
    expect(await mail.get("settings", "lang")).toEqual({ value: "ja" });
    expect(serverDocs(world, "alice", MAIL.scope.appId)["settings/sig"]).toEqual({ text: "from abroad" });
  });

  it("releases held changes when the device comes home", async () => {
    const world = new SimWorld();
    const phone = world.device({ id: "phone", accountId: "alice" });
    phone.setRoaming(true);
    const mail = await phone.open(MAIL);
    await mail.put("settings", "a", { v: 1 });
    await world.settle();
    expect(mail.status.reason).toBe("roaming");
    phone.setRoaming(false);
    await world.settle();
    expect(mail.status.pending).toBe(0);
    expect(serverDocs(world, "alice", MAIL.scope.appId)).toEqual({ "settings/a": { v: 1 } });
  });

  it("with backup off, sends nothing and restores nothing until it is on", async () => {
    const world = new SimWorld();
    const other = world.device({ id: "other", accountId: "alice" });
    await (await other.open(MAIL)).put("settings", "remote", { v: 1 });
    await world.settle();
    const phone = world.device({ id: "phone", accountId: "alice", settings: { backupEnabled: false } });
    const mail = await phone.open(MAIL);
    await mail.put("settings", "local", { v: 2 });
    const requests = world.network.stats.requests;
    await world.settle();
    expect(world.network.stats.requests).toBe(requests);
    expect(mail.status.reason).toBe("disabled");
    expect(await mail.get("settings", "remote")).toBeUndefined();
    phone.updateSettings({ backupEnabled: true });
    await world.settle();
    expect(await mail.get("settings", "remote")).toEqual({ v: 1 });
    expect(serverDocs(world, "alice", MAIL.scope.appId)["settings/local"]).toEqual({ v: 2 });
  });
});

describe("scenario 4: two devices edit one document offline", () => {
  async function twoDevicesOffline(skewB = 0) {
    const world = new SimWorld();
    const a = world.device({ id: "dev-a", accountId: "alice" });
    const b = world.device({ id: "dev-b", accountId: "alice", clockSkewMs: skewB });
    const [ma, mb] = [await a.open(MAIL), await b.open(MAIL)];
    const [na, nb] = [await a.open(NOTES), await b.open(NOTES)];
    return { world, a, b, ma, mb, na, nb };
  }

  it("merge: edits to different fields both survive, a clash goes to the later edit", async () => {
    const { world, a, b, ma, mb } = await twoDevicesOffline();
    await ma.put("settings", "prefs", { theme: "light", font: 12, sound: "on" });
    await world.settle();
    a.setOnline(false);
    b.setOnline(false);
    await ma.put("settings", "prefs", { theme: "dark", font: 12, sound: "off" });
    await world.runtime.advance(1000);
    await mb.put("settings", "prefs", { theme: "light", font: 16, sound: "vibrate" });
    a.setOnline(true);
    b.setOnline(true);
    await world.settle();
    const expected = { theme: "dark", font: 16, sound: "vibrate" };
    expect(await ma.get("settings", "prefs")).toEqual(expected);
    expect(await mb.get("settings", "prefs")).toEqual(expected);
    expect(serverDocs(world, "alice", MAIL.scope.appId)["settings/prefs"]).toEqual(expected);
  });

  it("yjs: concurrent text edits merge exactly", async () => {
    const { world, a, b, na, nb } = await twoDevicesOffline();
    const base = new Y.Doc();
    base.getText("body").insert(0, "hello");
    await na.put("notes", "n1", encodeYDoc(base));
    await world.settle();
    a.setOnline(false);
    b.setOnline(false);
    const docA = new Y.Doc();
    applyYjsDocument(docA, (await na.get("notes", "n1")) as YjsDocument);
    docA.getText("body").insert(0, "A: ");
    await na.put("notes", "n1", encodeYDoc(docA));
    const docB = new Y.Doc();
    applyYjsDocument(docB, (await nb.get("notes", "n1")) as YjsDocument);
    docB.getText("body").insert(5, " world");
    await nb.put("notes", "n1", encodeYDoc(docB));
    a.setOnline(true);
    b.setOnline(true);
    await world.settle();
    for (const n of [na, nb]) {
      const doc = new Y.Doc();
      applyYjsDocument(doc, (await n.get("notes", "n1")) as YjsDocument);
      expect(doc.getText("body").toString()).toBe("A: hello world");
    }
  });

  /** Both devices synced once (learning the server's time), then edit offline, `wrong` first and `right` a minute later. */
  async function concurrentEdits(skewOfFirst: number) {
    const { world, a, b, ma, mb } = await twoDevicesOffline(0);
    const first = world.device({ id: "dev-wrong-clock", accountId: "alice", clockSkewMs: skewOfFirst });
    const mw = await first.open(MAIL);
    await ma.put("consent", "tos", { version: 1 });
    await world.settle();
    expect(await mw.get("consent", "tos")).toEqual({ version: 1 });
    first.setOnline(false);
    b.setOnline(false);
    await mw.put("consent", "tos", { version: 2, by: "first" });
    await world.runtime.advance(60_000);
    await mb.put("consent", "tos", { version: 3, by: "a minute later" });
    first.setOnline(true);
    await world.settle();
    b.setOnline(true);
    await world.settle();
    return { world, a, ma, mb, mw };
  }

  it("lww: the later edit wins over a device whose clock is five hours ahead", async () => {
    const { ma, mb, mw } = await concurrentEdits(5 * 3_600_000);
    for (const r of [ma, mb, mw])
      expect(await r.get("consent", "tos")).toEqual({ version: 3, by: "a minute later" });
  });

  it("lww: a device whose clock is three hours behind does not win by going first", async () => {
    const { ma, mb, mw } = await concurrentEdits(-3 * 3_600_000);
    for (const r of [ma, mb, mw])
      expect(await r.get("consent", "tos")).toEqual({ version: 3, by: "a minute later" });
  });

  it("lww: an edit from a device three hours behind wins when it is the later one", async () => {
    const { world, a, b, ma, mb } = await twoDevicesOffline(-3 * 3_600_000);
    await ma.put("consent", "tos", { version: 1 });
    await world.settle();
    a.setOnline(false);
    b.setOnline(false);
    await ma.put("consent", "tos", { version: 2 });
    await world.runtime.advance(60_000);
    await mb.put("consent", "tos", { version: 3 });
    a.setOnline(true);
    await world.settle();
    b.setOnline(true);
    await world.settle();
    expect(await ma.get("consent", "tos")).toEqual({ version: 3 });
    expect(await mb.get("consent", "tos")).toEqual({ version: 3 });
  });

  it("custom: an RxDB-shaped { isEqual, resolve } handler decides", async () => {
    const highScore: ConflictHandler = {
      isEqual: (x, y) => x._deleted === y._deleted && x.score === y.score,
      resolve: ({ newDocumentState: n, realMasterState: r }) =>
        (n.score as number) > (r.score as number) ? n : r,
    };
    const GAME = {
      scope: { appId: "jp.example.mail", appVersion: "3.0.0", platform: "android" as const },
      collections: { scores: highScore },
    };
    const world = new SimWorld();
    const a = world.device({ id: "dev-a", accountId: "alice" });
    const b = world.device({ id: "dev-b", accountId: "alice" });
    const [ga, gb] = [await a.open(GAME), await b.open(GAME)];
    await ga.put("scores", "best", { score: 10 });
    await world.settle();
    a.setOnline(false);
    b.setOnline(false);
    await ga.put("scores", "best", { score: 50 });
    await world.runtime.advance(5000);
    await gb.put("scores", "best", { score: 30 });
    b.setOnline(true);
    await world.settle();
    a.setOnline(true);
    await world.settle();
    expect(await ga.get("scores", "best")).toEqual({ score: 50 });
    expect(await gb.get("scores", "best")).toEqual({ score: 50 });
  });
});

describe("scenario 5: bulk delete while another device holds queued changes", () => {
  it("keeps the backup deleted, the catalog empty, and backs up changes made after the delete", async () => {
    const world = new SimWorld();
    const a = world.device({ id: "dev-a", accountId: "alice" });
    const b = world.device({ id: "dev-b", accountId: "alice" });
    const [ma, mb] = [await a.open(MAIL), await b.open(MAIL)];
    const nb = await b.open(NOTES);
    await ma.put("settings", "x", { v: 1 });
    await nb.put("prefs", "p", { v: 1 });
    await world.settle();
    b.setOnline(false);
    await mb.put("settings", "x", { v: 2, queued: "before delete" });
    await mb.put("settings", "y", { v: 1, queued: "before delete" });
    await nb.put("prefs", "p", { v: 2 });
    await world.run(a.link.transport.deleteAll(randomId(world.runtime)));
    expect((await world.run(a.link.transport.catalog())).apps).toEqual([]);
    b.setOnline(true);
    await world.settle();
    expect(serverDocs(world, "alice", MAIL.scope.appId)).toEqual({});
    expect(serverDocs(world, "alice", NOTES.scope.appId)).toEqual({});
    expect((await world.run(a.link.transport.catalog())).apps).toEqual([]);
    expect(mb.status.pending).toBe(0);
    expect(nb.status.pending).toBe(0);
    await mb.put("settings", "z", { v: 1, after: "delete" });
    await world.settle();
    expect(serverDocs(world, "alice", MAIL.scope.appId)).toEqual({ "settings/z": { v: 1, after: "delete" } });
    const catalog = await world.run(b.link.transport.catalog());
    expect(catalog.apps.map((x) => [x.appId, x.documents])).toEqual([[MAIL.scope.appId, 1]]);
    expect(await ma.get("settings", "z")).toEqual({ v: 1, after: "delete" });
  });
});

describe("scenario 10: account switch on a device", () => {
  it("never sends the old account's data or queue under the new account, and restores the new one's backup", async () => {
    const world = new SimWorld();
    const bobsPhone = world.device({ id: "bob-phone", accountId: "bob" });
    await (await bobsPhone.open(MAIL)).put("settings", "theme", { owner: "bob" });
    await world.settle();
    const phone = world.device({ id: "shared", accountId: "alice" });
    const alice = await phone.open(MAIL);
    await alice.put("settings", "theme", { owner: "alice" });
    await world.settle();
    phone.setOnline(false);
    await alice.put("settings", "queued", { owner: "alice" });
    await phone.switchAccount("bob");
    phone.setOnline(true);
    await world.settle();
    const bob = phone.app(MAIL.scope.appId);
    expect(await bob.get("settings", "theme")).toEqual({ owner: "bob" });
    expect(await bob.get("settings", "queued")).toBeUndefined();
    expect(world.server.log.filter((l) => l.accountId === "bob").map((l) => l.document.data?.owner)).toEqual([
      "bob",
    ]);
    expect(serverDocs(world, "alice", MAIL.scope.appId)["settings/queued"]).toBeUndefined();
    await phone.switchAccount("alice");
    await world.settle();
    expect(serverDocs(world, "alice", MAIL.scope.appId)["settings/queued"]).toEqual({ owner: "alice" });
    expect(await phone.app(MAIL.scope.appId).get("settings", "theme")).toEqual({ owner: "alice" });
  });
});
