import { BehaviorSubject, firstValueFrom } from "rxjs";
import { describe, expect, it } from "vitest";
import {
  type BackedUpApp,
  createDeviceHub,
  type DeviceHub,
  type HubApp,
  type NetworkState,
} from "../src/index.js";
import { ManualRuntime, MemoryServer, MemoryStore, openRegistry } from "../src/testing/index.js";

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

function world() {
  const runtime = new ManualRuntime();
  const server = new MemoryServer({
    registry: openRegistry([MAIL.appId, NOTES.appId]),
    now: () => runtime.now(),
  });
  const hubs: { hub: DeviceHub; network$: BehaviorSubject<NetworkState>; store: MemoryStore }[] = [];
  const device = async (id: string, store = new MemoryStore()) => {
    const network$ = new BehaviorSubject<NetworkState>({ online: true, roaming: false });
    const hub = await createDeviceHub({
      store,
      connect: (accountId) => server.connect({ accountId }),
      deviceId: id,
      platform: "android",
      network$,
      runtime,
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
  return { runtime, server, device, settle };
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
      { appId: MAIL.appId, outcome: "held", reason: "roaming" },
      { appId: NOTES.appId, outcome: "held", reason: "roaming" },
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

  it("bulk delete empties the list on this and other devices, drops queued changes, and nothing comes back", async () => {
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
    expect(row(await listOf(b.hub), MAIL.appId)).toMatchObject({
      documents: 0,
      pending: 0,
      state: "up-to-date",
    });
    expect(row(await listOf(a.hub), MAIL.appId)).toMatchObject({ documents: 0, state: "up-to-date" });
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
});
