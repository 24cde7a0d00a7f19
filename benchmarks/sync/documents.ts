/**
 * The documents every system moves, and the batch sizes: plain data and functions, so the browser benchmark's page
 * imports them too.
 */

/** Changes per request for every system that batches (RxDB, PouchDB, Hokan, the floor). */
export const BATCH = 500;

/**
 * Most documents per restore page. Hokan's pages grow from {@link BATCH} to this (its `pullBatchMax` default), and so
 * do the floor's. RxDB, whose page size is one number, pulls pages of this size: it restored 10,000 in 0.30–0.38 s
 * against 0.40–0.54 s with pages of 500. PouchDB keeps 500: with 4,000 it took 1.70–1.78 s against 1.49–1.52 s.
 */
export const PULL_MAX = 4000;

/** Documents written while offline and handed to a system at once (its bulk-write API). */
export const WRITE_CHUNK = 1000;

/**
 * Document `i`, version `v`: an app's settings record of about 1 KB — a few typed fields, a nested object and a
 * 600-character text (a consent text or serialized preferences).
 */
export function doc(i: number, v = 0): Record<string, unknown> {
  return {
    kind: "settings",
    index: i,
    version: v,
    theme: i % 2 ? "dark" : "light",
    consent: {
      termsVersion: `2026.${(i % 12) + 1}`,
      acceptedAt: 1_795_564_800_000 + i,
      marketing: i % 3 === 0,
    },
    flags: { sync: true, notifications: i % 5 !== 0, compact: false },
    text: `${"lorem ipsum dolor sit amet ".repeat(22)}#${i}:${v}`.slice(0, 620),
  };
}

export const docId = (i: number): string => `doc-${String(i).padStart(7, "0")}`;
