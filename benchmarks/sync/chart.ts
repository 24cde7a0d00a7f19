/**
 * Renders the sync benchmark as an SVG: one panel per scenario and size, a horizontal bar per system (documents per
 * second, longer is better; for `live` the median latency, shorter is better), Hokan's bars in their own colour.
 */
export interface ChartRow {
  readonly system: string;
  /** The bar's label. */
  readonly config: string;
  readonly scenario: string;
  readonly n: number;
  readonly docsPerSecond: number;
  readonly p50Ms?: number;
}

/** A saved result row of sync.ts, as much of it as the chart needs. */
export interface ResultRow {
  readonly key: string;
  readonly label: string;
  readonly system: string;
  readonly scenario: string;
  readonly n: number;
  readonly docsPerSecond: number;
  readonly p50Ms?: number;
}

/** The chart's rows of a run: every measured case but `release` (Hokan only), Hokan and the floor coloured apart. */
export function chartRows(results: readonly ResultRow[]): ChartRow[] {
  return results
    .filter((r) => Number.isFinite(r.docsPerSecond) && r.scenario !== "release")
    .map((r) => ({
      ...r,
      system: r.key.startsWith("hokan") ? "Hokan" : r.key.startsWith("floor") ? "floor" : r.system,
      config: r.label,
    }));
}

const WIDTH = 960;
const LABEL = 380;
const BAR_H = 16;
const GAP = 5;
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const fmt = (v: number) => (v >= 100 ? Math.round(v).toLocaleString("en-US") : v.toFixed(1));

export function renderChart(rows: readonly ChartRow[], title: string): string {
  const panels = new Map<string, ChartRow[]>();
  for (const r of rows) {
    const key =
      r.scenario === "live"
        ? "live: median latency, ms (shorter is better)"
        : `${r.scenario}, N = ${r.n.toLocaleString("en-US")}: documents/s`;
    panels.set(key, [...(panels.get(key) ?? []), r]);
  }
  let y = 56;
  const parts: string[] = [];
  for (const [heading, list] of panels) {
    const live = heading.startsWith("live");
    const value = (r: ChartRow) => (live ? (r.p50Ms ?? 0) : r.docsPerSecond);
    const sorted = [...list].sort((a, b) => (live ? value(a) - value(b) : value(b) - value(a)));
    const max = Math.max(...sorted.map(value), 1e-9);
    parts.push(`<text x="10" y="${y}" font-weight="bold" font-size="14">${esc(heading)}</text>`);
    y += 10;
    for (const r of sorted) {
      const w = Math.max(1, ((WIDTH - LABEL - 90) * value(r)) / max);
      const hokan = r.system === "Hokan";
      const floor = r.system.startsWith("floor");
      const color = hokan ? "#d9480f" : floor ? "#868e96" : "#4263eb";
      parts.push(
        `<text x="${LABEL - 8}" y="${y + BAR_H - 4}" text-anchor="end" font-size="11">${esc(r.config)}</text>`,
        `<rect x="${LABEL}" y="${y}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${color}"/>`,
        `<text x="${LABEL + w + 6}" y="${y + BAR_H - 4}" font-size="11">${fmt(value(r))}</text>`,
      );
      y += BAR_H + GAP;
    }
    y += 24;
  }
  const legend = [
    ["#d9480f", "Hokan"],
    ["#4263eb", "peers"],
    ["#868e96", "floor (no sync engine)"],
  ]
    .map(
      ([c, t], i) =>
        `<rect x="${10 + i * 150}" y="${y - 12}" width="12" height="12" fill="${c}"/><text x="${28 + i * 150}" y="${y - 2}" font-size="12">${t}</text>`,
    )
    .join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y + 10}" font-family="sans-serif">
<title>${esc(title)}</title>
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="22" font-size="16" font-weight="bold">${esc(title)}</text>
${parts.join("\n")}
${legend}
</svg>
`;
}
