import type { SystemUnderTest } from "./workload.js";

/** Every system configuration by key; each is imported only when its case runs. */
export const SYSTEMS: Record<string, () => Promise<SystemUnderTest>> = {
  "hokan-memory-postgres": async () => (await import("./hokan.js")).hokan({ store: "memory", db: "postgres" }),
  "hokan-memory-pglite": async () => (await import("./hokan.js")).hokan({ store: "memory", db: "pglite" }),
  "hokan-idb-postgres": async () => (await import("./hokan.js")).hokan({ store: "indexeddb", db: "postgres" }),
  "hokan-idb-pglite": async () => (await import("./hokan.js")).hokan({ store: "indexeddb", db: "pglite" }),
  "rxdb-memory": async () => (await import("./rxdb.js")).rxdb({ storage: "memory" }),
  "rxdb-dexie": async () => (await import("./rxdb.js")).rxdb({ storage: "dexie" }),
  "floor-sql-postgres": async () => (await import("./floor.js")).floor({ db: "postgres", http: false, inFlight: 1 }),
  "floor-sql-postgres-pipelined": async () =>
    (await import("./floor.js")).floor({ db: "postgres", http: false, inFlight: 4 }),
  "floor-http-postgres": async () => (await import("./floor.js")).floor({ db: "postgres", http: true, inFlight: 1 }),
  "floor-http-postgres-pipelined": async () =>
    (await import("./floor.js")).floor({ db: "postgres", http: true, inFlight: 4 }),
  "floor-sql-pglite": async () => (await import("./floor.js")).floor({ db: "pglite", http: false, inFlight: 1 }),
  "floor-http-pglite": async () => (await import("./floor.js")).floor({ db: "pglite", http: true, inFlight: 1 }),
};
