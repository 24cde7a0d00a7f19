/**
 * Compares dotted numeric versions (`1.10.0` > `1.9.3`); a missing part counts as 0 and anything after a `-` or `+`
 * is ignored. Throws on a version with non-numeric parts, which the registry validation should have refused.
 */
export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** True for a version {@link compareVersions} accepts. */
export function isVersion(v: string): boolean {
  return /^\d+(\.\d+){0,3}([-+].*)?$/.test(v);
}

function parseVersion(v: string): number[] {
  if (!isVersion(v)) throw new TypeError(`not a dotted numeric version: ${JSON.stringify(v)}`);
  const core = v.split(/[-+]/, 1)[0] ?? "";
  return core.split(".").map(Number);
}
