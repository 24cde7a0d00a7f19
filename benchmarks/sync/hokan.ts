/**
 * Hokan as the benchmark runs it: the engine with a memory or IndexedDB (fake-indexeddb) store, the HTTP transport,
 * and the server on PGlite or PostgreSQL in the same process, on 127.0.0.1.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  canonicalJson,
  type DeviceSettings,
  type JsonObject,
  type LocalStore,
  type NetworkState,
} from "@hokan/core";
import { MemoryStore, openRegistry } from "@hokan/core/testing";
import { buildServer, createVerifier, migrate, parseRegistry, signDevelopmentToken } from "@hokan/server";
import { scratchDatabase } from "@hokan/server/testing";
import { DexieStore } from "@hokan/storage";
import { createHttpTransport } from "@hokan/transport";
import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import { BehaviorSubject, filter, firstValueFrom } from "rxjs";
import { APP, benchReplication, COLLECTION, SECRET, writeAll } from "./hokan-device.js";
import { DELAY_MS, doc, type SystemUnderTest, sampleLive, timed, until } from "./workload.js";

export interface HokanOptions {
  readonly store: "memory" | "indexeddb";
  readonly db: "pglite" | "postgres";
}

/** The global fetch, each request starting `ms` later. */
function delayed(ms: number): typeof fetch {
  return async (url, init) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return fetch(url, init);
  };
}

/** Hokan's server on a scratch database, on 127.0.0.1; `beforeListen` may take over some of its requests. */
export async function startHokanServer(db: "pglite" | "postgres", beforeListen?: (server: Server) => void) {
  const { db: database, drop } = await scratchDatabase(db, { prefix: "hokan_bench" });
  await migrate(database);
  const server = await buildServer({
    db: database,
    registry: parseRegistry({ apps: openRegistry([APP.appId]) }),
    verify: await createVerifier({ secret: SECRET }),
    rateLimit: { perSecond: 1e6, burst: 1e6 },
    quotaBytes: 2 ** 40,
    bodyLimit: 64 * 2 ** 20,
  });
  beforeListen?.(server.app.server);
  await server.app.listen({ host: "127.0.0.1", port: 0 });
  return {
    url: `http://127.0.0.1:${(server.app.server.address() as AddressInfo).port}`,
    hub: server.hub,
    async close() {
      await server.app.close();
      await drop();
    },
  };
}

export async function hokan(options: HokanOptions): Promise<SystemUnderTest> {
  const server = await startHokanServer(options.db);
  const url = server.url;
  let accounts = 0;
  let stores = 0;

  const newStore = (): LocalStore =>
    options.store === "memory"
      ? new MemoryStore()
      : new DexieStore({ indexedDB: new IDBFactory(), IDBKeyRange, name: `bench${stores++}` });

  /** One device of `account`: its own store and engine. */
  function device(account: string, network: NetworkState, settings: DeviceSettings) {
    const store = newStore();
    const network$ = new BehaviorSubject(network);
    const settings$ = new BehaviorSubject(settings);
    const r = benchReplication({
      store,
      // Loopback: compressing costs more than it saves (measured in compression.ts); every peer sends plain JSON too.
      transport: createHttpTransport({
        baseUrl: url,
        token: () => signDevelopmentToken(SECRET, { account }),
        compression: false,
        ...(DELAY_MS > 0 ? { fetch: delayed(DELAY_MS) } : {}),
      }),
      account,
      deviceId: `device-${stores}`,
      settings$,
      network$,
    });
    return {
      r,
      store,
      network$,
      settings$,
      async close() {
        await r.stop();
        await store.close();
      },
    };
  }
  type Device = ReturnType<typeof device>;
  const ONLINE = { online: true, roaming: false };
  const OFFLINE = { online: false, roaming: false };
  const BACKUP_ON = { backupEnabled: true, overseasEnabled: false };

  /** Resolves once the device has nothing left to send and is idle (fails if it stopped on an error). */
  async function acknowledged(d: Device): Promise<void> {
    const s = await firstValueFrom(
      d.r.status$.pipe(
        filter((s) => s.pending === 0 && !s.inFlight && s.state !== "pulling" && s.state !== "pushing"),
      ),
    );
    if (s.lastError) throw new Error(`Hokan stopped: ${s.lastError.code} ${s.lastError.message}`);
  }

  return {
    name: "Hokan",
    config: `${options.store === "memory" ? "memory store" : "Dexie on fake-indexeddb"}, server on ${options.db === "pglite" ? "PGlite" : "PostgreSQL"}`,
    scenarios: {
      async push(n) {
        const d = device(`push-${accounts++}`, OFFLINE, BACKUP_ON);
        await d.r.start();
        await writeAll(d.r, n);
        const seconds = await timed(async () => {
          d.network$.next(ONLINE);
          await acknowledged(d);
        });
        await d.close();
        return { seconds };
      },
      async restore(n) {
        const account = `restore-${accounts++}`;
        const seeder = device(account, ONLINE, BACKUP_ON);
        await seeder.r.start();
        await writeAll(seeder.r, n);
        await acknowledged(seeder);
        await seeder.close();
        const d = device(account, ONLINE, BACKUP_ON);
        const seconds = await timed(async () => {
          await d.r.start();
          await d.r.whenIdle();
        });
        const got = (await d.store.listDocuments({ account, app: APP.appId })).length;
        await d.close();
        if (got !== n) throw new Error(`restored ${got} of ${n}`);
        return { seconds };
      },
      async live() {
        const account = `live-${accounts++}`;
        const a = device(account, ONLINE, BACKUP_ON);
        const b = device(account, ONLINE, BACKUP_ON);
        // Channels of devices closed earlier go away asynchronously: start from none.
        await until("earlier live channels to close", () => server.hub.connections === 0);
        await a.r.start();
        await b.r.start();
        await until("both live channels", () => server.hub.connections >= 2);
        await Promise.all([a.r.whenIdle(), b.r.whenIdle()]);
        const result = await sampleLive(
          (id) => firstValueFrom(b.r.changes$.pipe(filter((c) => c.id === id && c.origin === "remote"))),
          (i, id) => a.r.put(COLLECTION, id, doc(i) as JsonObject),
        );
        await a.close();
        await b.close();
        return result;
      },
      async conflict(n) {
        const account = `conflict-${accounts++}`;
        const a = device(account, ONLINE, BACKUP_ON);
        const b = device(account, ONLINE, BACKUP_ON);
        await a.r.start();
        await writeAll(a.r, n);
        await acknowledged(a);
        await b.r.start();
        await b.r.whenIdle();
        a.network$.next(OFFLINE);
        b.network$.next(OFFLINE);
        await writeAll(a.r, n, 1);
        await writeAll(b.r, n, 2);
        const ns = { account, app: APP.appId };
        const snapshot = async (d: Device) =>
          // PostgreSQL's jsonb sorts keys: compare canonical JSON.
          canonicalJson((await d.store.listDocuments(ns, COLLECTION)).map((x) => [x.id, x.data]).sort());
        let converged = false;
        const seconds = await timed(async () => {
          a.network$.next(ONLINE);
          b.network$.next(ONLINE);
          await until("convergence", async () => {
            if (a.r.status.pending + b.r.status.pending > 0) return false;
            const [x, y] = [await snapshot(a), await snapshot(b)];
            converged = x === y;
            return converged;
          });
        });
        await a.close();
        await b.close();
        return { seconds, converged };
      },
      async release(n) {
        const d = device(`release-${accounts++}`, { online: true, roaming: true }, BACKUP_ON);
        await d.r.start();
        await writeAll(d.r, n);
        await d.r.whenIdle();
        if (d.r.status.pending !== n)
          throw new Error(`expected ${n} held changes, found ${d.r.status.pending}`);
        const seconds = await timed(async () => {
          d.settings$.next({ backupEnabled: true, overseasEnabled: true });
          await acknowledged(d);
        });
        await d.close();
        return { seconds };
      },
    },
    async close() {
      await server.close();
    },
  };
}
