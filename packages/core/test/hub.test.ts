import { BehaviorSubject, firstValueFrom } from "rxjs";
import { describe, expect, it } from "vitest";
import {
  type BackedUpApp,
  createDeviceHub,
  type DeviceHub,
  HokanError,
  type HubApp,
  type NetworkState,
  noticesFor,
  type RegistryEntry,
} from "../src/index.js";
import { ManualRuntime, MemoryServer, MemoryStore, openRegistry } from "../src/testing/index.js";
import { behindSwitch, relay } from "./helpers.js";

const MAIL: HubApp = {
  appId: "jp.example.mail",
  appVersion: "3.0.0",
  name: "Mail",
  collections: { settings: "merge", consent: "lww" },
};
const NOTES: HubApp = {
  appId: "jp.example.notes",
  appVersion: "1.0.0",
  name: "Notes",
  collections: { prefs: "lww" },
};

function world(registry: readonly RegistryEntry[] = openRegistry([MAIL.appId, NOTES.appId])) {
  const runtime = new ManualRuntime();
  const server = new MemoryServer({ registry, now: () => runtime.now() });
  /** The server answers (while up) or every request fails as an unreachable one does. */
  const reachable = { up: true };
  const hubs: { hub: DeviceHub; network$: BehaviorSubject<NetworkState>; store: MemoryStore }[] = [];
  const device = async (
    id: string,
    store = new MemoryStore(),
    extra: Partial<Parameters<typeof createDeviceHub>[0]> = {},
  ) => {
    const network$ = new BehaviorSubject<NetworkState>({ online: true, roaming: false });
    const hub = await createDeviceHub({
      store,
      connect: (accountId) => behindSwitch(server.connect({ accountId }), reachable),
      deviceId: id,
      platform: "android",
      network$,
      runtime,
      ...extra,
    });
    const d = { hub, network$, store };
    hubs.push(d);
    return d;
  };
  // Past the hub's write debounce, then until every app rests.
  const settle = async () => {
    await runtime.advance(300);
    await runtime.runUntil(
      () => hubs.every((d) => d.hub.account === null || [MAIL, NOTES].every((a) => isIdle(d.hub, a.appId))),
      { stepMs: 50, maxMs: 600_000 },
    );
  };
  return { runtime, server, device, settle, reachable };
}

function isIdle(hub: DeviceHub, appId: string): boolean {
  try {
    return ["idle", "fatal", "stopped"].includes(hub.app(appId).status.state);
  } catch {
    return true;
  }
}

const listOf = (hub: DeviceHub) => firstValueFrom(hub.apps$);
const row = (list: readonly BackedUpApp[], appId: string) => list.find((r) => r.appId === appId);

describe("device hub", () => {
  it("keeps the device settings and applies them to every app at once", async () => {
    const w = world();
    const store = new MemoryStore();
    const { hub } = await w.device("phone", store);
    await hub.setAccount("alice");
    const [mail, notes] = [await hub.register(MAIL), await hub.register(NOTES)];
    await hub.setBackupEnabled(false);
    expect([mail.status.reason, notes.status.reason]).toEqual(["disabled", "disabled"]);
    await hub.setOverseasEnabled(true);
    const again = await createDeviceHub({
      store,
      connect: (a) => w.server.connect({ accountId: a }),
      deviceId: "phone",
      platform: "android",
      network$: new BehaviorSubject({ online: true, roaming: false }),
      runtime: w.runtime,
    });
    expect(again.settings).toEqual({ backupEnabled: false, overseasEnabled: true });
    expect(again.account).toBe("alice");
    await hub.close();
    await again.close();
  });

  it("lists each backed-up app with the server's last backup time right after a backup", async () => {
    const w = world();
    const other = await w.device("tablet");
    await other.hub.setAccount("alice");
    await (await other.hub.register(NOTES)).put("prefs", "p", { v: 1 });
    const { hub } = await w.device("phone");
    await hub.setAccount("alice");
    const mail = await hub.register(MAIL);
    await w.settle();
    const backedUpAt = w.runtime.now();
    await mail.put("settings", "theme", { mode: "dark" });
    await w.settle();
    const list = await listOf(hub);
    expect(row(list, MAIL.appId)).toMatchObject({
      onDevice: true,
      state: "up-to-date",
      documents: 1,
      name: "Mail",
    });
    expect(row(list, MAIL.appId)?.lastBackupAt).toBeGreaterThanOrEqual(backedUpAt);
    expect(row(list, NOTES.appId)).toMatchObject({ onDevice: false, state: "not-on-device", documents: 1 });
    await hub.close();
    await other.hub.close();
  });

  it("bulk backup sends what policy allows and says why the rest waits", async () => {
    const w = world();
    const d = await w.device("phone");
    await d.hub.setAccount("alice");
    const [mail, notes] = [await d.hub.register(MAIL), await d.hub.register(NOTES)];
    await w.settle();
    d.network$.next({ online: true, roaming: true });
    await mail.put("settings", "a", { v: 1 });
    await notes.put("prefs", "b", { v: 1 });
    expect(await d.hub.bulkBackup()).toEqual([
      { appId: MAIL.appId, outcome: "held", acknowledged: false, reason: "roaming", pending: 1 },
      { appId: NOTES.appId, outcome: "held", acknowledged: false, reason: "roaming", pending: 1 },
    ]);
    expect(row(await listOf(d.hub), MAIL.appId)).toMatchObject({
      state: "held",
      reason: "roaming",
      pending: 1,
    });
    await d.hub.setOverseasEnabled(true);
    const progress: number[] = [];
    const results = await d.hub.bulkBackup((done) => progress.push(done));
    expect(results.map((r) => r.outcome)).toEqual(["backed-up", "backed-up"]);
    expect(progress).toEqual([1, 2]);
    expect(w.server.documents("alice", NOTES.appId).map((x) => x.id)).toEqual(["b"]);
    await d.hub.close();
  });

  it("bulk delete empties the list on this and other devices, drops queued changes (told), and nothing comes back", async () => {
    const w = world();
    const a = await w.device("phone");
    const b = await w.device("tablet");
    await a.hub.setAccount("alice");
    await b.hub.setAccount("alice");
    await (await a.hub.register(MAIL)).put("settings", "x", { v: 1 });
    const bMail = await b.hub.register(MAIL);
    await w.settle();
    b.network$.next({ online: false, roaming: false });
    await bMail.put("settings", "x", { v: 2, queued: true });
    await a.hub.bulkDelete();
    // Reflected at once: the server holds nothing of the app any more.
    const right = row(await listOf(a.hub), MAIL.appId);
    expect(right).toMatchObject({ documents: 0, bytes: 0 });
    expect(right?.lastBackupAt).toBeUndefined();
    b.network$.next({ online: true, roaming: false });
    await w.settle();
    await w.runtime.advance(1000);
    await w.settle();
    expect(w.server.documents("alice", MAIL.appId).filter((d) => d.data)).toEqual([]);
    // The queued change was dropped, and the list says so rather than showing it as backed up.
    expect(row(await listOf(b.hub), MAIL.appId)).toMatchObject({
      documents: 0,
      pending: 0,
      dropped: 1,
      state: "up-to-date",
    });
    expect(row(await listOf(a.hub), MAIL.appId)).toMatchObject({ documents: 0, state: "up-to-date" });
    expect(row(await listOf(a.hub), MAIL.appId)?.dropped).toBeUndefined();
    await a.hub.close();
    await b.hub.close();
  });

  it("restores before an app's defaults can overwrite the backup, on a new device and on an account switch", async () => {
    const w = world();
    const old = await w.device("old");
    await old.hub.setAccount("alice");
    await (await old.hub.register(MAIL)).put("consent", "tos", { version: 3, accepted: true });
    await old.hub.setAccount("bob");
    await (await old.hub.register(MAIL)).put("consent", "tos", { version: 5, accepted: true });
    await w.settle();
    const fresh = await w.device("new");
    await fresh.hub.setAccount("alice");
    const mail = await fresh.hub.register(MAIL);
    const wrote = mail.putDefault("consent", "tos", { version: 0, accepted: false });
    await w.runtime.runUntil(() => mail.status.awaitingRestore === false);
    expect(await wrote).toBe(false);
    expect(await mail.get("consent", "tos")).toEqual({ version: 3, accepted: true });
    await fresh.hub.setAccount("bob");
    const asBob = fresh.hub.app(MAIL.appId);
    const bobDefault = asBob.putDefault("consent", "tos", { version: 0, accepted: false });
    await w.runtime.runUntil(() => asBob.status.awaitingRestore === false);
    expect(await bobDefault).toBe(false);
    expect(await asBob.get("consent", "tos")).toEqual({ version: 5, accepted: true });
    expect(w.server.log.filter((l) => l.accountId === "bob").map((l) => l.document.data)).toEqual([
      { version: 5, accepted: true },
    ]);
    await old.hub.close();
    await fresh.hub.close();
  });

  it("bulk backup says an app is backed up only when the server acknowledged it", async () => {
    const w = world();
    const d = await w.device("phone");
    await d.hub.setAccount("alice");
    const [mail] = [await d.hub.register(MAIL), await d.hub.register(NOTES)];
    await w.settle();
    w.reachable.up = false;
    // Nothing pending, the server unreachable: not "backed up".
    const results = await d.hub.bulkBackup({ timeoutMs: 10_000 });
    expect(results.map((r) => [r.appId, r.outcome, r.acknowledged])).toEqual([
      [MAIL.appId, "failed", false],
      [NOTES.appId, "failed", false],
    ]);
    expect(results[0]).toMatchObject({ error: { code: "network" }, pending: 0 });
    await mail.put("settings", "x", { v: 1 });
    const pending = await d.hub.bulkBackup({ timeoutMs: 10_000 });
    expect(pending[0]).toMatchObject({ outcome: "failed", pending: 1, error: { code: "network" } });
    w.reachable.up = true;
    const ok = await d.hub.bulkBackup({ timeoutMs: 10_000 });
    expect(ok).toEqual([
      { appId: MAIL.appId, outcome: "backed-up", acknowledged: true, pending: 0 },
      { appId: NOTES.appId, outcome: "backed-up", acknowledged: true, pending: 0 },
    ]);
    await d.hub.close();
  });

  it("bulk delete rejects with a typed error when the server is unreachable, and deletes nothing", async () => {
    const w = world();
    const d = await w.device("phone");
    await d.hub.setAccount("alice");
    await (await d.hub.register(MAIL)).put("settings", "x", { v: 1 });
    await w.settle();
    w.reachable.up = false;
    const error = await d.hub.bulkDelete().catch((e: unknown) => e);
    expect(HokanError.is(error, "network")).toBe(true);
    expect(w.server.documents("alice", MAIL.appId)).toHaveLength(1);
    await d.hub.close();
  });

  it("bulk backup and bulk delete leave out the apps the registry does not offer them for", async () => {
    const w = world([
      {
        appId: MAIL.appId,
        platform: "android",
        capabilities: ["backup", "restore", "bulkBackup", "bulkDelete"],
      },
      { appId: NOTES.appId, platform: "android", capabilities: ["backup", "restore"] },
    ]);
    const d = await w.device("phone");
    await d.hub.setAccount("alice");
    const [mail, notes] = [await d.hub.register(MAIL), await d.hub.register(NOTES)];
    await w.settle();
    await mail.put("settings", "x", { v: 1 });
    await notes.put("prefs", "p", { v: 1 });
    const results = await d.hub.bulkBackup();
    expect(results.map((r) => [r.appId, r.outcome, r.outcome === "held" ? r.reason : undefined])).toEqual([
      [MAIL.appId, "backed-up", undefined],
      [NOTES.appId, "held", "capability"],
    ]);
    await w.settle();
    const deleted = await d.hub.bulkDelete();
    expect(deleted.apps.map((a) => a.appId)).toEqual([MAIL.appId]);
    expect(deleted.skipped).toEqual([{ appId: NOTES.appId, code: "capability" }]);
    expect(w.server.documents("alice", NOTES.appId).map((x) => x.data)).toEqual([{ v: 1 }]);
    expect((await listOf(d.hub)).map((r) => [r.appId, r.documents])).toEqual([
      [MAIL.appId, 0],
      [NOTES.appId, 1],
    ]);
    await d.hub.close();
  });

  it("keeps the list right on the account's other devices, apps not on them included", async () => {
    const w = world();
    const a = await w.device("phone");
    const b = await w.device("tablet");
    await a.hub.setAccount("alice");
    await b.hub.setAccount("alice");
    const mail = await a.hub.register(MAIL);
    const notes = await a.hub.register(NOTES);
    await b.hub.register(MAIL);
    await w.settle();
    await mail.put("settings", "x", { v: 1 });
    await notes.put("prefs", "p", { v: 1 });
    await w.settle();
    const list = await listOf(b.hub);
    expect(row(list, MAIL.appId)).toMatchObject({ documents: 1, state: "up-to-date", onDevice: true });
    expect(row(list, MAIL.appId)?.lastBackupAt).toBeGreaterThan(0);
    expect(row(list, NOTES.appId)).toMatchObject({ documents: 1, state: "not-on-device" });
    await a.hub.bulkDelete();
    await w.settle();
    expect((await listOf(b.hub)).map((r) => [r.appId, r.documents])).toEqual([[MAIL.appId, 0]]);
    await a.hub.close();
    await b.hub.close();
  });

  it("shows an account without the contract as not entitled", async () => {
    const w = world();
    const d = await w.device("phone", new MemoryStore(), { entitled$: new BehaviorSubject(false) });
    await d.hub.setAccount("alice");
    await d.hub.register(MAIL);
    await w.settle();
    expect(row(await listOf(d.hub), MAIL.appId)).toMatchObject({
      state: "not-entitled",
      reason: "not-entitled",
    });
    expect(await d.hub.bulkBackup()).toEqual([
      { appId: MAIL.appId, outcome: "held", acknowledged: false, reason: "not-entitled", pending: 0 },
    ]);
    await d.hub.close();
  });

  it("refuses app access without an account, with a clear error", async () => {
    const w = world();
    const { hub } = await w.device("phone");
    await expect(hub.register(MAIL)).rejects.toMatchObject({ code: "no-account" });
    expect(() => hub.app(MAIL.appId)).toThrow(/account/);
    await expect(hub.bulkDelete()).rejects.toMatchObject({ code: "no-account" });
  });

  it("sends a burst of writes in one push (automatic backup is debounced)", async () => {
    const w = world();
    const { hub } = await w.device("phone");
    await hub.setAccount("alice");
    const mail = await hub.register(MAIL);
    await w.settle();
    const before = w.server.log.length;
    for (let i = 0; i < 10; i++) await mail.put("settings", `k${i % 3}`, { i });
    expect(mail.status.pending).toBe(3);
    await w.runtime.advance(100);
    expect(w.server.log.length).toBe(before);
    await w.runtime.advance(300);
    await w.settle();
    expect(w.server.log.length - before).toBe(3);
    expect(mail.status.pending).toBe(0);
    await hub.close();
  });

  it("forgets an account's data on the device, keeping its backup", async () => {
    const w = world();
    const { hub, store } = await w.device("phone");
    await hub.setAccount("alice");
    await (await hub.register(MAIL)).put("settings", "x", { v: 1 });
    await w.settle();
    await hub.forgetAccount("alice");
    expect(hub.account).toBeNull();
    expect(await store.listDocuments({ account: "alice", app: MAIL.appId })).toEqual([]);
    expect(w.server.documents("alice", MAIL.appId).map((d) => d.data)).toEqual([{ v: 1 }]);
    await hub.close();
  });

  it("lists the registry's dated notices: backups ending, restore until, and an update due by a date", async () => {
    const start = new ManualRuntime().now();
    const day = 86_400_000;
    const iso = (ms: number) => new Date(ms).toISOString();
    const LEGACY: HubApp = {
      appId: "jp.example.legacy",
      appVersion: "1.0.0",
      name: "Legacy",
      collections: { prefs: "lww" },
    };
    const w = world([
      {
        appId: MAIL.appId,
        platform: "android",
        name: "Mail",
        capabilities: ["backup", "restore"],
        minVersion: "3.1.0",
        minVersionEnforcedFrom: iso(start + 30 * day),
        updateUrl: "https://apps.example.jp/mail",
      },
      { appId: NOTES.appId, platform: "android", name: "Notes", capabilities: ["backup", "restore"] },
      {
        appId: LEGACY.appId,
        platform: "android",
        name: "Legacy",
        capabilities: ["backup", "restore"],
        retiredAt: iso(start - 2 * day),
        restoreGraceDays: 90,
      },
    ]);
    const { hub } = await w.device("phone");
    await hub.setAccount("alice");
    for (const app of [MAIL, NOTES, LEGACY]) await hub.register(app);
    await w.settle();
    await hub.refreshList();
    const list = await listOf(hub);
    expect(row(list, MAIL.appId)?.notices).toEqual([
      { kind: "update-by", minVersion: "3.1.0", at: start + 30 * day, url: "https://apps.example.jp/mail" },
    ]);
    expect(row(list, NOTES.appId)?.notices).toBeUndefined();
    expect(row(list, LEGACY.appId)).toMatchObject({
      state: "retired",
      notices: [
        { kind: "backups-end", at: start - 2 * day },
        { kind: "restore-until", at: start + 88 * day },
      ],
    });
    // An app at the minimum version has nothing to do.
    expect(
      noticesFor({ appId: "a", platform: "android", capabilities: [], minVersion: "3.1.0" }, "3.1.0"),
    ).toEqual([]);
    // Enforced at once: due now, no date.
    expect(
      noticesFor({ appId: "a", platform: "android", capabilities: [], minVersion: "3.1.0" }, "3.0.9"),
    ).toEqual([{ kind: "update-by", minVersion: "3.1.0" }]);
  });

  it("asks once for what apps starting together need: one live channel for them and the list, one registry read", async () => {
    const w = world();
    const asked = { live: [] as string[][], catalog: [] as boolean[], registry: 0 };
    const { hub } = await w.device("new", new MemoryStore(), {
      connect: (accountId) =>
        relay(w.server.connect({ accountId }), {
          live: (apps, options) => {
            asked.live.push(apps.map((a) => a.appId));
            asked.catalog.push(options?.catalog === true);
            return w.server.connect({ accountId }).live(apps, options);
          },
          registry: (platform) => {
            asked.registry++;
            return w.server.connect({ accountId }).registry(platform);
          },
        }),
    });
    await hub.setAccount("alice");
    const [mail, notes] = await Promise.all([hub.register(MAIL), hub.register(NOTES)]);
    await w.settle();
    expect(asked).toEqual({ live: [[MAIL.appId, NOTES.appId]], catalog: [true], registry: 1 });
    // The apps hear each other's devices through it.
    const other = await w.device("other");
    await other.hub.setAccount("alice");
    await (await other.hub.register(NOTES)).put("prefs", "p", { v: 2 });
    await w.settle();
    expect(await notes.get("prefs", "p")).toEqual({ v: 2 });
    expect(mail.status.lastError).toBeUndefined();
    // After the registry's time to keep, the list reads it again, once.
    await w.runtime.advance(11 * 60_000);
    await hub.refreshList();
    expect(asked.registry).toBe(2);
    await hub.close();
    await other.hub.close();
  });

  it("counts the documents a restore took, for the screen to show how far it has come", async () => {
    const w = world();
    const a = await w.device("old");
    await a.hub.setAccount("alice");
    const mail = await a.hub.register(MAIL);
    for (const id of ["x", "y", "z"]) await mail.put("settings", id, { v: id });
    await w.settle();
    const b = await w.device("new");
    await b.hub.setAccount("alice");
    await b.hub.register(MAIL);
    await w.settle();
    expect(row(await listOf(b.hub), MAIL.appId)).toMatchObject({ received: 3, documents: 3 });
    expect(b.hub.app(MAIL.appId).status.received).toBe(3);
    // The device that wrote them took nothing from the server.
    expect(row(await listOf(a.hub), MAIL.appId)?.received).toBeUndefined();
  });
});
