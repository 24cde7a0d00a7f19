#!/usr/bin/env node
// The mobile SQLite adapters are typed structurally (this repository builds without React Native, Expo or
// Capacitor); this checks those types against the drivers' own published declarations: it installs the drivers
// (without their native peers) and the built @hokan/storage-sqlite into a temporary project and type-checks an app
// that hands each driver's real database object to its adapter. The download is large (op-sqlite ships its native
// sources), so it is run by hand when a driver's major version changes, not in CI.
//
//   node scripts/driver-types.mjs        (after pnpm build)
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packAll, ROOT } from "./packages.mjs";

export const DRIVERS = {
  "@op-engineering/op-sqlite": "18.2.5",
  "expo-sqlite": "57.0.3",
  "@capacitor-community/sqlite": "8.1.1",
};

const work = mkdtempSync(join(tmpdir(), "hokan-driver-types-"));
const run = (cmd, argv) => execFileSync(cmd, argv, { cwd: work, stdio: "inherit" });
try {
  const tarballs = packAll(work);
  writeFileSync(
    join(work, "package.json"),
    JSON.stringify({ name: "driver-types", private: true, type: "module" }),
  );
  run("npm", [
    "install",
    "--no-audit",
    "--no-fund",
    "--legacy-peer-deps",
    tarballs.core,
    tarballs["storage-sqlite"],
    ...Object.entries(DRIVERS).map(([name, version]) => `${name}@${version}`),
    `typescript@${JSON.parse(readFileSync(join(ROOT, "node_modules", "typescript", "package.json"), "utf8")).version}`,
  ]);
  writeFileSync(
    join(work, "app.ts"),
    `import type { SQLiteDBConnection } from "@capacitor-community/sqlite";
import { open } from "@op-engineering/op-sqlite";
import { SqliteStore } from "@hokan/storage-sqlite";
import { capacitorSqliteDriver } from "@hokan/storage-sqlite/capacitor";
import { expoSqliteDriver } from "@hokan/storage-sqlite/expo-sqlite";
import { opSqliteDriver } from "@hokan/storage-sqlite/op-sqlite";
import { openDatabaseAsync } from "expo-sqlite";

export const fromOpSqlite = () => SqliteStore.open(opSqliteDriver(open({ name: "hokan.sqlite" })));
export const fromExpo = async () => SqliteStore.open(expoSqliteDriver(await openDatabaseAsync("hokan.db")));
export const fromCapacitor = (db: SQLiteDBConnection) => SqliteStore.open(capacitorSqliteDriver(db));
`,
  );
  // The drivers' declarations import React Native and Capacitor, which are not installed: skipLibCheck leaves those
  // unresolved inside them, while every type the app touches is the driver's own.
  writeFileSync(
    join(work, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        // As React Native and Expo apps resolve (op-sqlite's declarations need it).
        module: "ESNext",
        moduleResolution: "Bundler",
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: [],
      },
      files: ["app.ts"],
    }),
  );
  run(join(work, "node_modules", ".bin", "tsc"), ["-p", "."]);
  console.log(
    `ok: the adapters take ${Object.entries(DRIVERS)
      .map(([n, v]) => `${n}@${v}`)
      .join(", ")}`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
