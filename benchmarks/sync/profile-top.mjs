// Summarises a .cpuprofile: the functions with the most self time, and where they live.
//   node sync/profile-top.mjs results/push.cpuprofile [rows]
import { readFileSync } from "node:fs";

const [file, rows = "30"] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file, "utf8"));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parents = new Map();
for (const n of profile.nodes) for (const child of n.children ?? []) parents.set(child, n.id);
// Starting the profiler is sampled too: Node's `Profiler.start` (under `node:inspector`), and the page's
// `console.profile` (in `startTiming`, browser/page.ts). Neither is part of the timed work.
const starting = (id) => {
  for (let at = id; at !== undefined; at = parents.get(at)) {
    const frame = nodes.get(at).callFrame;
    if (frame.url === "node:inspector" || frame.functionName === "startTiming") return true;
  }
  return false;
};
const selfTime = new Map();
profile.samples.forEach((id, i) => {
  if (starting(id)) return;
  const frame = nodes.get(id).callFrame;
  const where = frame.url ? `${frame.url.split("/").slice(-2).join("/")}:${frame.lineNumber + 1}` : "";
  const key = `${frame.functionName || "(anonymous)"} ${where}`.trim();
  selfTime.set(key, (selfTime.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const total = [...selfTime.values()].reduce((a, b) => a + b, 0);
console.log(`total ${(total / 1000).toFixed(0)} ms`);
for (const [key, us] of [...selfTime].sort((a, b) => b[1] - a[1]).slice(0, Number(rows))) {
  console.log(
    `${(us / 1000).toFixed(1).padStart(9)} ms ${((100 * us) / total).toFixed(1).padStart(5)} %  ${key}`,
  );
}
