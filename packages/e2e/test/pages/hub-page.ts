/**
 * A web device hub in Chromium (bundled by `browser-hub.test.ts`, served from the server's own origin): a fresh
 * IndexedDB store, the account set, every app registered, as the settings screen of a device with many apps would.
 */
import { createDeviceHub, type DeviceHub, type Replication } from "@hokan/core";
import { DexieStore } from "@hokan/storage";
import { createHttpTransport } from "@hokan/transport";
import { BehaviorSubject } from "rxjs";

let hub: DeviceHub | undefined;
const apps = new Map<string, Replication>();

/** Resolves once the app holds `id`. */
function holds(r: Replication, collection: string, id: string): Promise<void> {
  return new Promise((resolve) => {
    const sub = r.changes$.subscribe((c) => {
      if (c.id === id && c.data !== null) {
        queueMicrotask(() => sub.unsubscribe());
        resolve();
      }
    });
    void r.get(collection, id).then((d) => {
      if (!d) return;
      sub.unsubscribe();
      resolve();
    });
  });
}

Object.assign(globalThis, {
  /** Signs in and registers `appIds`; resolves with the ms until every app holds `ids` of its `prefs`. */
  async restore(account: string, token: string, appIds: string[], ids: string[]): Promise<number> {
    const store = new DexieStore({ name: `hub-${account}` });
    hub = await createDeviceHub({
      store,
      connect: () => createHttpTransport({ baseUrl: location.origin, token: () => token }),
      deviceId: `browser-${account}`,
      platform: "web",
      network$: new BehaviorSubject({ online: true, roaming: false }),
    });
    const started = performance.now();
    await hub.setAccount(account);
    const registered = await Promise.all(
      appIds.map((appId) =>
        (hub as DeviceHub).register({ appId, appVersion: "1.0.0", collections: { prefs: "lww" } }),
      ),
    );
    for (const [i, r] of registered.entries()) apps.set(appIds[i] as string, r);
    await Promise.all(registered.flatMap((r) => ids.map((id) => holds(r, "prefs", id))));
    return performance.now() - started;
  },
  /** Resolves once the app holds `id` (a change from another device, by its live hint). */
  holds: (appId: string, id: string) => holds(apps.get(appId) as Replication, "prefs", id),
  /** The backed-up apps list as the settings screen shows it: app id and documents. */
  list: async () =>
    ((await hub?.refreshList()) ?? []).map((a) => ({
      appId: a.appId,
      documents: a.documents,
      state: a.state,
    })),
});
