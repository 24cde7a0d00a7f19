import type { JsonObject, Transport } from "../src/index.js";
import type { SimApp, SimWorld } from "../src/testing/index.js";

export const MAIL: SimApp = {
  scope: { appId: "jp.example.mail", appVersion: "3.0.0", platform: "android" },
  collections: { settings: "merge", consent: "lww" },
};

export const NOTES: SimApp = {
  scope: { appId: "jp.example.notes", appVersion: "1.0.0", platform: "android" },
  collections: { notes: "yjs", prefs: "lww" },
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
    live: (a) => inner.live(a),
    catalog: () => inner.catalog(),
    deleteApp: (scope, requestId) => inner.deleteApp(scope, requestId),
    deleteAll: (requestId) => inner.deleteAll(requestId),
    ...over,
  };
}
