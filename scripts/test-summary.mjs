// Adds up every package's vitest JSON results into one closing line: "Tests: N passed, N failed".
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

let passed = 0;
let failed = 0;
let skipped = 0;
const root = new URL("../packages/", import.meta.url).pathname;
for (const pkg of readdirSync(root)) {
  const dir = join(root, pkg, ".vitest");
  if (!existsSync(dir)) continue;
  for (const name of readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()) {
    const r = JSON.parse(readFileSync(join(dir, name), "utf8"));
    passed += r.numPassedTests;
    failed += r.numFailedTests;
    skipped += r.numPendingTests + r.numTodoTests;
    console.log(`${pkg} (${name}): ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
  }
}
console.log(`Tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exitCode = failed > 0 || passed === 0 || skipped > 0 ? 1 : 0;
