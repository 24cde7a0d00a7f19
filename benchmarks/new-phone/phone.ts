/**
 * The new phone of `new-phone.ts`, in Node (fake-indexeddb) and in Chromium's page alike: the device hub on a fresh
 * store, the account set, every app registered; resolves when every app holds every document.
 */
import {
  createDeviceHub,
  type DeviceValues,
  type LocalStore,
  type NetworkState,
  type Replication,
} from "@hokan/core";
import { createHttpTransport } from "@hokan/transport";
import { BehaviorSubject } from "rxjs";

export const SCOPE = { platform: "android" as const, appVersion: "3.0.0" };
export const APPS = 50;
export const DOCUMENTS = 20;
export const appIds = Array.from({ length: APPS }, (_, i) => `jp.example.app${String(i).padStart(2, "0")}`);

/** A settings record of about 1 KB. */
export const settings = (app: number, i: number) => ({
  theme: i % 2 ? "dark" : "light",
  locale: "ja-JP",
  notifications: { mail: true, news: i % 3 === 0, quietHours: { from: "22:00", to: "07:00" } },
  note: `app ${app} setting ${i} `.padEnd(900, "・"),
});

export interface PhoneTimes {
  readonly setAccountMs: number;
  readonly registerMs: number;
  readonly totalMs: number;
}

/** Restores `account` on a new phone whose store is `store`; the times from `setAccount`. */
export async function restoreNewPhone(options: {
  readonly store: LocalStore & DeviceValues;
  readonly baseUrl: string;
  readonly token: string;
  readonly account: string;
  readonly deviceId: string;
}): Promise<PhoneTimes> {
  const network$ = new BehaviorSubject<NetworkState>({ online: true, roaming: false });
  const hub = await createDeviceHub({
    store: options.store,
    connect: () =>
      createHttpTransport({ baseUrl: options.baseUrl, token: () => options.token, compression: false }),
    deviceId: options.deviceId,
    platform: SCOPE.platform,
    network$,
  });
  try {
    const started = performance.now();
    await hub.setAccount(options.account);
    const signedIn = performance.now();
    // Every app launches at once, as a restore's apps do.
    const apps: Replication[] = await Promise.all(
      appIds.map((appId) =>
        hub.register({ appId, appVersion: SCOPE.appVersion, collections: { settings: "lww" } }),
      ),
    );
    const registered = performance.now();
    // Restored when every app has been told of every document (its `changes$`), checked against the store after.
    await Promise.all(apps.map(restored));
    const done = performance.now();
    for (const r of apps) {
      const docs = await r.list("settings");
      if (docs.length !== DOCUMENTS) throw new Error(`an app holds ${docs.length} of ${DOCUMENTS} documents`);
    }
    return { setAccountMs: signedIn - started, registerMs: registered - signedIn, totalMs: done - started };
  } finally {
    await hub.close();
  }
}

/** Resolves once the app holds all {@link DOCUMENTS}. */
function restored(r: Replication): Promise<void> {
  return new Promise<void>((resolve) => {
    const seen = new Set<string>();
    const check = () => {
      if (seen.size < DOCUMENTS) return;
      queueMicrotask(() => sub.unsubscribe());
      resolve();
    };
    const sub = r.changes$.subscribe((c) => {
      if (c.origin === "remote" && c.data !== null) seen.add(c.id);
      check();
    });
    // Documents that arrived before the subscription are in the store already.
    void r.list("settings").then((docs) => {
      for (const d of docs) seen.add(d.id);
      check();
    });
  });
}

/**
 * The floor of the same restore: one bare pull per app, side by side, over the same HTTP, each app's documents
 * written to `store` in one transaction; the milliseconds it took.
 */
export async function floorRestore(store: DeviceValues, baseUrl: string, token: string): Promise<number> {
  const started = performance.now();
  await Promise.all(
    appIds.map(async (appId) => {
      const res = await fetch(`${baseUrl}/v1/apps/${appId}/pull`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ scope: SCOPE, checkpoint: { epoch: 0, seq: 0 }, limit: 500 }),
      });
      if (!res.ok) throw new Error(`floor: ${res.status} ${await res.text()}`);
      const page = (await res.json()) as { documents: unknown[] };
      if (page.documents.length !== DOCUMENTS) throw new Error(`floor: ${page.documents.length} documents`);
      await store.setDeviceValue(`floor:${appId}`, page.documents);
    }),
  );
  return performance.now() - started;
}
