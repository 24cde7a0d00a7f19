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
 * The shapes of document a benchmark can move (`BENCH_SHAPE`, default `text`), each about 1 KB of JSON:
 * - `text`: an app's settings record with a few typed fields, a nested object and a 620-character text (a consent
 *   text or serialized preferences);
 * - `keys`: settings made of many small fields — 31 preference keys in groups two levels deep and a consent object;
 * - `binary`: a Yjs-style document, its state as one base64 update of 768 bytes.
 */
export type Shape = "text" | "keys" | "binary";
export const SHAPES: readonly Shape[] = ["text", "keys", "binary"];

/**
 * The shape of this process's documents: the runner passes it to each case's process (`BENCH_SHAPE`), and the browser
 * benchmark to each page (a global of that name, set before the page's scripts run).
 */
export const SHAPE: Shape = (() => {
  const scope = globalThis as { process?: { env: Record<string, string | undefined> }; BENCH_SHAPE?: string };
  const chosen = scope.process?.env.BENCH_SHAPE ?? scope.BENCH_SHAPE;
  return SHAPES.includes(chosen as Shape) ? (chosen as Shape) : "text";
})();

/** Document `i`, version `v`, of {@link SHAPE}. */
export function doc(i: number, v = 0, shape: Shape = SHAPE): Record<string, unknown> {
  if (shape === "keys") return manyKeys(i, v);
  if (shape === "binary") return binary(i, v);
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

function manyKeys(i: number, v: number): Record<string, unknown> {
  const on = (k: number) => (i + k) % 3 !== 0;
  return {
    kind: "settings",
    index: i,
    version: v,
    preferences: {
      display: {
        theme: i % 2 ? "dark" : "light",
        fontSize: 12 + (i % 6),
        contrast: on(1) ? "normal" : "high",
        reduceMotion: on(2),
        density: ["compact", "cozy", "comfortable"][i % 3],
        language: "ja-JP",
        dateFormat: "yyyy/MM/dd",
        timeFormat: on(3) ? "24h" : "12h",
      },
      notifications: {
        mail: on(4),
        news: on(5),
        promotions: on(6),
        sound: on(7) ? "chime" : "none",
        vibrate: on(8),
        badge: on(9),
        quietFrom: "22:00",
        quietTo: "07:00",
      },
      privacy: {
        analytics: on(10),
        crashReports: on(11),
        personalizedAds: on(12),
        locationHistory: on(13),
        shareUsage: on(14),
        lockAfterMinutes: 1 + (i % 15),
        biometricUnlock: on(15),
      },
      sync: {
        wifiOnly: on(16),
        roaming: on(17),
        photos: on(18),
        contacts: on(19),
        calendar: on(20),
        intervalMinutes: 15 * (1 + (i % 4)),
        lastDevice: `device-${i % 7}`,
        version: v,
      },
    },
    consent: {
      termsVersion: `2026.${(i % 12) + 1}`,
      acceptedAt: 1_795_564_800_000 + i,
      marketing: i % 3 === 0,
      privacyVersion: `2026.${(i % 6) + 1}`,
    },
  };
}

/** 768 bytes that change with `i` and `v`, as base64: a CRDT's update does not compress or repeat. */
function binary(i: number, v: number): Record<string, unknown> {
  const bytes = new Uint8Array(768);
  let x = (i * 2_654_435_761 + v * 40_503 + 1) >>> 0;
  for (let k = 0; k < bytes.length; k++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[k] = x & 0xff;
  }
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return { kind: "ydoc", index: i, version: v, update: btoa(text) };
}

export const docId = (i: number): string => `doc-${String(i).padStart(7, "0")}`;
