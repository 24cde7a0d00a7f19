/** A JSON value as stored and sent by Hokan. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A JSON object: the shape of every backed-up document. */
export type JsonObject = { [key: string]: Json };

/** Deep structural equality of two JSON values (object key order does not matter). */
export function jsonEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as Json[];
    return a.length === bb.length && a.every((v, i) => jsonEqual(v, bb[i]));
  }
  const ao = a as JsonObject;
  const bo = b as JsonObject;
  const ak = Object.keys(ao);
  if (ak.length !== Object.keys(bo).length) return false;
  return ak.every((k) => Object.hasOwn(bo, k) && jsonEqual(ao[k], bo[k]));
}

/** Size in bytes of a value's JSON encoding (UTF-8), the unit of every size limit and quota. */
export function jsonSize(value: Json): number {
  return utf8Length(JSON.stringify(value));
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range starts at NUL
const NON_ASCII = /[^\u0000-\u007f]/;

/** UTF-8 bytes of a string, counted without encoding it (the server sizes every document of every push). */
export function utf8Length(text: string): number {
  // Most documents are ASCII: one native scan answers for them (about 3× faster than the loop on 1 KB).
  if (!NON_ASCII.test(text)) return text.length;
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 2; // the pair is 2 code units and 4 bytes
        i++;
      } else bytes += 2; // a lone surrogate encodes as U+FFFD, 3 bytes
    } else bytes += 2;
  }
  return bytes;
}

/**
 * Nesting depth of a JSON value (a scalar is 0), counted without recursion, so a hostile document 10,000 levels deep
 * cannot overflow the stack; counting stops once past `limit`.
 */
export function jsonDepth(value: Json, limit = Number.POSITIVE_INFINITY): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [v, depth] = top;
    if (v === null || typeof v !== "object") continue;
    const here = depth + 1;
    if (here > max) {
      max = here;
      if (max > limit) return max;
    }
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, here]);
  }
  return max;
}

/**
 * The path (`changes[0].data.s`) to the first string of a JSON value, key or value, that no backup can keep: one
 * holding U+0000 (PostgreSQL text cannot), or one that is not well-formed UTF-16 (a lone surrogate, half an emoji cut
 * by an app: stored as U+FFFD it would merge two distinct ids). `undefined` when there is none. Without recursion.
 */
export function findUnstorableString(value: unknown): string | undefined {
  const stack: [unknown, string][] = [[value, ""]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [v, path] = top;
    if (typeof v === "string") {
      if (!storable(v)) return path || "(the value)";
      continue;
    }
    if (v === null || typeof v !== "object") continue;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}[${i}]`]);
      continue;
    }
    const entries = Object.entries(v);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [k, child] = entries[i] as [string, unknown];
      const at = path ? `${path}.${k}` : k;
      if (!storable(k)) return `${at} (a key)`;
      stack.push([child, at]);
    }
  }
  return undefined;
}

function storable(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) return false;
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}

/**
 * A deep copy of a JSON value (documents are plain JSON by contract). Written out rather than `structuredClone`,
 * which React Native's Hermes does not have.
 */
export function cloneJson<T extends Json>(value: T): T {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => cloneJson(v)) as T;
  const out: JsonObject = {};
  for (const key of Object.keys(value)) {
    const v = cloneJson((value as JsonObject)[key] as Json);
    // JSON may name a key `__proto__`: kept as the own property it is, never made the copy's prototype.
    if (key === "__proto__")
      Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
    else out[key] = v;
  }
  return out as T;
}
