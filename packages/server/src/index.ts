export { buildServer, type HokanServer, type ServerOptions } from "./app.js";
export { type AuthOptions, CLAIMS, createVerifier, type Principal, signDevelopmentToken } from "./auth.js";
export { BackupStore, type BackupStoreOptions, LIVE_CHANNEL, type LiveNotice } from "./backup-store.js";
export { CorsConfigError, type CorsOptions, parseOrigins } from "./cors.js";
export { type Database, openPGlite, openPostgres, type Sql } from "./database.js";
export { LiveHub } from "./live-hub.js";
export { MIGRATIONS, migrate } from "./migrations.js";
export { type Problem, toHokanError, toProblem } from "./problem.js";
export { loadRegistry, parseRegistry, Registry, RegistryError } from "./registry.js";
