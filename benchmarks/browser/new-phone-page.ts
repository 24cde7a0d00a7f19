/** The page of `new-phone.ts` in Chromium: the new phone on real IndexedDB, called by the driver. */
import { DexieStore } from "@hokan/storage";
import { floorRestore, restoreNewPhone } from "../new-phone/phone.js";

let phones = 0;

/** Runs `fn` on a fresh IndexedDB database, removed after. */
async function onFreshStore<T>(fn: (store: DexieStore, name: string) => Promise<T>): Promise<T> {
  const name = `new-phone-${phones++}`;
  const store = new DexieStore({ name });
  try {
    return await fn(store, name);
  } finally {
    await store.close();
    await new Promise<void>((resolve) => {
      const request = indexedDB.deleteDatabase(name);
      request.onsuccess = request.onerror = request.onblocked = () => resolve();
    });
  }
}

Object.assign(globalThis, {
  newPhone: (account: string, token: string) =>
    onFreshStore((store, name) =>
      restoreNewPhone({ store, baseUrl: location.origin, token, account, deviceId: name }),
    ),
  floor: (token: string) => onFreshStore((store) => floorRestore(store, location.origin, token)),
});
