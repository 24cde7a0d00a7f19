// The app of scripts/consumer-check.mjs, compiled outside the repository against the installed packages: one device
// backs up consent and a setting, a second device (its own IndexedDB) restores them, and an in-memory device (the
// testing entry, without vitest) restores them too.
import "fake-indexeddb/auto";
import { createReplication, type Replication, type Transport } from "@hokan/core";
import { MemoryStore } from "@hokan/core/testing";
import { createKeyValue, DexieStore } from "@hokan/storage";
import { createHttpTransport } from "@hokan/transport";
import { BehaviorSubject } from "rxjs";

declare const process: { readonly argv: readonly string[]; exitCode?: number };

const [baseUrl, token] = process.argv.slice(2) as [string, string];
const transport: Transport = createHttpTransport({ baseUrl, token: () => token });

function device(deviceId: string, store: DexieStore | MemoryStore): Replication {
  return createReplication({
    store,
    transport,
    accountId: "consumer",
    app: { appId: "jp.example.mail", appVersion: "3.0.0", platform: "web" },
    deviceId,
    collections: { settings: "merge", consent: "lww" },
    settings$: new BehaviorSubject({ backupEnabled: true, overseasEnabled: false }),
    network$: new BehaviorSubject({ online: true, roaming: false }),
    restoreFirst: { timeoutMs: 10_000 },
  });
}

const first = device("browser-1", new DexieStore({ name: "device-1" }));
await first.start();
await first.putDefault("settings", "theme", { value: "light" });
const consent = createKeyValue(first, "consent");
await consent.set("tos", { version: 3, accepted: true });
const receipt = await first.put("settings", "theme", { value: "dark" });
await first.acknowledged(receipt, { timeoutMs: 15_000 });
const done = await first.sync({ timeoutMs: 15_000 });
if (done.outcome !== "synced") throw new Error(`the first device did not sync: ${JSON.stringify(done)}`);
await first.stop();

for (const [name, store] of [
  ["browser-2", new DexieStore({ name: "device-2" })],
  ["memory-3", new MemoryStore()],
] as const) {
  const next = device(name, store);
  await next.start();
  const theme = await next.get("settings", "theme");
  const tos = await createKeyValue(next, "consent").get("tos");
  if (
    JSON.stringify(theme) !== JSON.stringify({ value: "dark" }) ||
    JSON.stringify(tos) !== '{"version":3,"accepted":true}'
  )
    throw new Error(`${name} restored ${JSON.stringify({ theme, tos })}`);
  console.log(`${name}: theme and consent restored on a new device`);
  await next.stop();
}
