export type { SqlExecutor, SqliteDriver, SqlRow, SqlValue } from "./driver.js";
export { SQLITE_MIGRATIONS, SqliteStore, toSqliteError } from "./sqlite-store.js";
