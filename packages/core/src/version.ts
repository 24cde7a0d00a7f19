/**
 * App versions: one to four dot-separated numbers (`3`, `3.1`, `3.1.0`, `3.1.0.7`: Android's versionName and iOS
 * build numbers use more or fewer parts than SemVer's three), then optionally a SemVer pre-release (`-beta.2`) and
 * build metadata (`+exp.sha.5114f85`). Ordered as SemVer 2.0.0 orders them: numbers first (a missing part counts as
 * 0), then a pre-release is below the same version without one, its identifiers compared one by one (numbers
 * numerically and below words, words in ASCII order, a shorter list first when all else is equal); build metadata is
 * ignored. See docs/adr/0003-ours-and-theirs.md for why this is ours and not the `semver` package.
 */
const VERSION =
  /^(\d+(?:\.\d+){0,3})(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

/** Compares two app versions: negative, 0 or positive. Throws on a string that is not one ({@link isVersion}). */
export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  for (let i = 0; i < Math.max(pa.numbers.length, pb.numbers.length); i++) {
    const d = (pa.numbers[i] ?? 0) - (pb.numbers[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  if (pa.pre === undefined || pb.pre === undefined) {
    return pa.pre === pb.pre ? 0 : pa.pre === undefined ? 1 : -1;
  }
  for (let i = 0; i < Math.min(pa.pre.length, pb.pre.length); i++) {
    const d = compareIdentifiers(pa.pre[i] as string, pb.pre[i] as string);
    if (d !== 0) return d;
  }
  return Math.sign(pa.pre.length - pb.pre.length);
}

/** True for an app version {@link compareVersions} accepts. */
export function isVersion(v: string): boolean {
  return VERSION.test(v);
}

function parseVersion(v: string): { readonly numbers: number[]; readonly pre?: string[] } {
  const m = VERSION.exec(v);
  if (!m) throw new TypeError(`not an app version: ${JSON.stringify(v)}`);
  const numbers = (m[1] as string).split(".").map(Number);
  return m[2] === undefined ? { numbers } : { numbers, pre: m[2].split(".") };
}

function compareIdentifiers(a: string, b: string): number {
  const na = /^\d+$/.test(a);
  const nb = /^\d+$/.test(b);
  if (na && nb) {
    // Compared as numbers of any length, without the precision of a double running out.
    const x = a.replace(/^0+(?=\d)/, "");
    const y = b.replace(/^0+(?=\d)/, "");
    return x.length !== y.length ? Math.sign(x.length - y.length) : x < y ? -1 : x > y ? 1 : 0;
  }
  if (na !== nb) return na ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
