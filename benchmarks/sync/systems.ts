import type { SystemUnderTest } from "./workload.js";

export interface SystemEntry {
  /** A short name for tables and charts. */
  readonly label: string;
  readonly open: () => Promise<SystemUnderTest>;
}

const hokan = (store: "memory" | "indexeddb", db: "pglite" | "postgres") => async () =>
  (await import("./hokan.js")).hokan({ store, db });
const floor = (db: "pglite" | "postgres", http: boolean, inFlight: number) => async () =>
  (await import("./floor.js")).floor({ db, http, inFlight });

/** Every system configuration by key; each is imported only when its case runs. */
export const SYSTEMS: Record<string, SystemEntry> = {
  "hokan-memory-postgres": { label: "Hokan · memory store · PostgreSQL", open: hokan("memory", "postgres") },
  "hokan-memory-pglite": { label: "Hokan · memory store · PGlite", open: hokan("memory", "pglite") },
  "hokan-idb-postgres": {
    label: "Hokan · IndexedDB (fake) · PostgreSQL",
    open: hokan("indexeddb", "postgres"),
  },
  "hokan-idb-pglite": { label: "Hokan · IndexedDB (fake) · PGlite", open: hokan("indexeddb", "pglite") },
  "rxdb-memory": {
    label: "RxDB replication · memory storage",
    open: async () => (await import("./rxdb.js")).rxdb({ storage: "memory" }),
  },
  "rxdb-memory-nostream": {
    label: "RxDB replication · memory storage · no live stream",
    open: async () => (await import("./rxdb.js")).rxdb({ storage: "memory", stream: false }),
  },
  "rxdb-dexie": {
    label: "RxDB replication · Dexie (fake IndexedDB)",
    open: async () => (await import("./rxdb.js")).rxdb({ storage: "dexie" }),
  },
  pouchdb: { label: "PouchDB → express-pouchdb", open: async () => (await import("./pouchdb.js")).pouchdb() },
  yjs: { label: "Yjs · y-websocket", open: async () => (await import("./yjs.js")).yjs() },
  "floor-sql-postgres": { label: "floor · bulk upsert · PostgreSQL", open: floor("postgres", false, 1) },
  "floor-sql-postgres-pipelined": {
    label: "floor · bulk upsert ×4 · PostgreSQL",
    open: floor("postgres", false, 4),
  },
  "floor-http-postgres": { label: "floor · HTTP + upsert · PostgreSQL", open: floor("postgres", true, 1) },
  "floor-http-postgres-pipelined": {
    label: "floor · HTTP + upsert ×4 · PostgreSQL",
    open: floor("postgres", true, 4),
  },
  "floor-sql-pglite": { label: "floor · bulk upsert · PGlite", open: floor("pglite", false, 1) },
  "floor-http-pglite": { label: "floor · HTTP + upsert · PGlite", open: floor("pglite", true, 1) },
};
