import { describe, expect, it } from "vitest";
import type { ConflictStrategy, DocumentChange } from "../src/index.js";
import { type SimApp, type SimDevice, SimWorld } from "../src/testing/index.js";
import { MAIL, serverDocs, startOn } from "./helpers.js";

/** The mail app with `consent` under the given strategy. */
const mailWith = (consent: ConflictStrategy): SimApp => ({
  scope: MAIL.scope,
  collections: { settings: "merge", consent },
});

const BACKED_UP = { version: 3, accepted: true };
const DEFAULT = { version: 0, accepted: false };

describe("first-launch defaults (putDefault)", () => {
  it.each<[string, ConflictStrategy]>([
    ["lww", "lww"],
    ["merge", "merge"],
    [
      "a custom handler that prefers the later write",
      {
        isEqual: (a, b) => JSON.stringify(a) === JSON.stringify(b),
        resolve: ({ newDocumentState }) => newDocumentState,
      },
    ],
  ])(
    "never replace the backup after an offline first launch past the restore timeout (%s)",
    async (_name, strategy) => {
      const app = mailWith(strategy);
      const world = new SimWorld();
      const old = await startOn(world, world.device({ id: "old", accountId: "alice" }), app);
      await old.put("consent", "tos", BACKED_UP);
      await world.settle();
      const fresh = world.device({ id: "fresh", accountId: "alice", online: false });
      const mail = await startOn(world, fresh, app, { restoreFirst: { timeoutMs: 1000 } });
      const seen: DocumentChange[] = [];
      mail.changes$.subscribe((c) => seen.push(c));
      const wrote = mail.putDefault("consent", "tos", DEFAULT);
      await world.runtime.advance(1000);
      expect(await wrote).toBe(true);
      expect(await mail.get("consent", "tos")).toEqual(DEFAULT);
      // An hour later, by the clock the later write would win with, the device comes online.
      await world.runtime.advance(3_600_000);
      fresh.setOnline(true);
      await world.settle();
      expect(serverDocs(world, "alice", MAIL.scope.appId)["consent/tos"]).toEqual(BACKED_UP);
      expect(await mail.get("consent", "tos")).toEqual(BACKED_UP);
      expect(mail.status.pending).toBe(0);
      expect(seen.map((c) => [c.origin, c.data])).toEqual([
        ["local", DEFAULT],
        ["remote", BACKED_UP],
      ]);
      expect(world.server.log.map((l) => l.document.data)).toEqual([BACKED_UP]);
      await old.stop();
      await mail.stop();
    },
  );

  it("lose to the backup even when the push goes first (a platform that may back up but not restore)", async () => {
    const world = new SimWorld({
      registry: [
        { appId: MAIL.scope.appId, platform: "android", capabilities: ["backup", "restore"] },
        { appId: MAIL.scope.appId, platform: "ios", capabilities: ["backup"] },
      ],
    });
    const old = await startOn(world, world.device({ id: "old", accountId: "alice" }), MAIL);
    await old.put("consent", "tos", BACKED_UP);
    await world.settle();
    const ios = world.device({ id: "ios", accountId: "alice", platform: "ios" });
    const mail = await startOn(world, ios, { ...MAIL, scope: { ...MAIL.scope, platform: "ios" } });
    await world.settle();
    expect(await mail.putDefault("consent", "tos", DEFAULT)).toBe(true);
    await world.settle();
    expect(serverDocs(world, "alice", MAIL.scope.appId)["consent/tos"]).toEqual(BACKED_UP);
    // The refusal carried the server's state: the device holds it now, and nothing is left to send.
    expect(await mail.get("consent", "tos")).toEqual(BACKED_UP);
    expect(mail.status.pending).toBe(0);
    await old.stop();
    await mail.stop();
  });

  it("are backed up where the backup holds nothing, and any edit from any device wins over them", async () => {
    const world = new SimWorld();
    const a = await startOn(world, world.device({ id: "a", accountId: "alice" }), MAIL);
    const b = await startOn(world, world.device({ id: "b", accountId: "alice", online: false }), MAIL);
    expect(await a.putDefault("consent", "tos", DEFAULT)).toBe(true);
    await world.settle();
    expect(world.server.documents("alice", MAIL.scope.appId)[0]).toMatchObject({
      data: DEFAULT,
      kind: "default",
    });
    // b edited offline before it ever heard of a's default; a's default was written later by the clock.
    await b.put("consent", "tos", { version: 3, accepted: true, by: "b" });
    (world.devices[1] as SimDevice).setOnline(true);
    await world.settle();
    const stored = world.server.documents("alice", MAIL.scope.appId)[0];
    expect(stored?.data).toEqual({ version: 3, accepted: true, by: "b" });
    expect(stored?.kind).toBeUndefined();
    expect(await a.get("consent", "tos")).toEqual({ version: 3, accepted: true, by: "b" });
    // A second default changes nothing: the document exists.
    expect(await a.putDefault("consent", "tos", DEFAULT)).toBe(false);
    await a.stop();
    await b.stop();
  });

  it("take the place of a deleted document, and stay an edit when the user's own change waits", async () => {
    const world = new SimWorld();
    const device = world.device({ id: "a", accountId: "alice" });
    const other = await startOn(world, world.device({ id: "b", accountId: "alice" }), MAIL);
    const a = await startOn(world, device, MAIL);
    await a.put("settings", "theme", { mode: "dark" });
    await a.put("settings", "font", { size: 12 });
    await world.settle();
    // Deleted and acknowledged: the default fills the document again.
    await a.delete("settings", "theme");
    await world.settle();
    expect(await a.putDefault("settings", "theme", { mode: "light" })).toBe(true);
    await world.settle();
    expect(serverDocs(world, "alice", MAIL.scope.appId)["settings/theme"]).toEqual({ mode: "light" });
    // Deleted offline, then the app's default: what the user did reaches the server, over another device's
    // earlier edit (as any later edit would under the merge strategy), and not as a default that loses to it.
    device.setOnline(false);
    await other.put("settings", "font", { size: 14 });
    await world.settle();
    await world.runtime.advance(1000);
    await a.delete("settings", "font");
    expect(await a.putDefault("settings", "font", { size: 10 })).toBe(true);
    device.setOnline(true);
    await world.settle();
    expect(await other.get("settings", "font")).toEqual(await a.get("settings", "font"));
    expect(serverDocs(world, "alice", MAIL.scope.appId)["settings/font"]).toEqual({ size: 10 });
    await a.stop();
    await other.stop();
  });
});
