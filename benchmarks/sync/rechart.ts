/**
 * Draws the chart of a saved full run again (after a change to the chart, without measuring again):
 *   node --import tsx sync/rechart.ts results/sync-<date>.json
 */
import { readFileSync, writeFileSync } from "node:fs";
import { chartRows, type ResultRow, renderChart } from "./chart.js";

const file = process.argv[2];
if (!file) throw new Error("usage: rechart.ts results/sync-<date>.json");
const { rows } = JSON.parse(readFileSync(file, "utf8")) as { rows: ResultRow[] };
const svg = renderChart(chartRows(rows), "Sync throughput on this machine (docs ≈ 1 KB, batches of 500)");
writeFileSync(file.replace(/\.json$/, ".svg"), svg);
writeFileSync(new URL("../../docs/images/sync-benchmark.svg", import.meta.url).pathname, svg);
console.log(`drew ${file.replace(/\.json$/, ".svg")} and docs/images/sync-benchmark.svg`);
