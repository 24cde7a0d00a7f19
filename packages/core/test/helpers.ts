import {
  createReplication,
  HokanError,
  type JsonObject,
  type Replication,
  type ReplicationOptions,
  type Transport,
} from "../src/index.js";
import type { SimApp, SimDevice, SimWorld } from "../src/testing/index.js";
import { yjs } from "../src/yjs.js";

export const MAIL: SimApp = {
  scope: { appId: "jp.example.mail", appVersion: "3.0.0", platform: "android" },
  collections: { settings: "merge", consent: "lww" },
};

export const NOTES: SimApp = {
  scope: { appId: "jp.example.notes", appVersion: "1.0.0", platform: "android" },
  collections: { notes: yjs, prefs: "lww" },
};

/** The live (not deleted) documents the server holds for an account's app, as `collection/id → data`. */
export function serverDocs(world: SimWorld, accountId: string, appId: string): Record<string, JsonObject> {
  const out: Record<string, JsonObject> = {};
  for (const d of world.server.documents(accountId, appId))
    if (d.data) out[`${d.collection}/${d.id}`] = d.data;
  return out;
}

/** `inner` with some of its calls replaced (a test's spy or hold); the rest go to `inner`, bound to it. */
export function relay(inner: Transport, over: Partial<Transport>): Transport {
  return {
    push: (r) => inner.push(r),
    pull: (r) => inner.pull(r),
    registry: (p) => inner.registry(p),
    live: (a, o) => inner.live(a, o),
    catalog: () => inner.catalog(),
    deleteApp: (scope, requestId) => inner.deleteApp(scope, requestId),
    deleteAll: (requestId, platform) => inner.deleteAll(requestId, platform),
    ...(inner.probe ? { probe: () => inner.probe?.() ?? Promise.resolve() } : {}),
    ...over,
  };
}

/**
 * `inner` behind a switch: while `server.up` is false, pulls, pushes, the catalog and deletes fail as an unreachable
 * server's do (the registry and live channels still answer).
 */
export function behindSwitch(inner: Transport, server: { readonly up: boolean }): Transport {
  const down = () => Promise.reject(new HokanError("network", "connect ECONNREFUSED"));
  return relay(inner, {
    pull: (r) => (server.up ? inner.pull(r) : down()),
    push: (r) => (server.up ? inner.push(r) : down()),
    catalog: () => (server.up ? inner.catalog() : down()),
    deleteApp: (s, id) => (server.up ? inner.deleteApp(s, id) : down()),
    deleteAll: (id, p) => (server.up ? inner.deleteAll(id, p) : down()),
  });
}

/**
 * A replication of `app` on a simulated device, not started: as `device.open` makes one, with any option replaced by
 * `extra` (another transport, store, `restoreFirst`, ...).
 */
export function replicationOn(
  world: SimWorld,
  device: SimDevice,
  app: SimApp = MAIL,
  extra: Partial<ReplicationOptions> = {},
): Replication {
  return createReplication({
    store: device.store,
    transport: device.link.transport,
    accountId: device.accountId,
    app: app.scope,
    deviceId: device.id,
    collections: app.collections,
    settings$: device.settings$,
    network$: device.link.network.state$,
    runtime: world.runtime,
    ...(app.migrations ? { migrations: app.migrations } : {}),
    ...extra,
  });
}

/** {@link replicationOn}, started. */
export async function startOn(
  world: SimWorld,
  device: SimDevice,
  app: SimApp = MAIL,
  extra: Partial<ReplicationOptions> = {},
): Promise<Replication> {
  const r = replicationOn(world, device, app, extra);
  await r.start();
  return r;
}
