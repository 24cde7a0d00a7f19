/**
 * A `text[]` query parameter in PostgreSQL's binary array format: a header, then each element's UTF-8 bytes behind
 * their length (-1 for NULL), no quoting or escaping. `pg` and PGlite both send bytes as a binary parameter, which
 * PostgreSQL reads as the type the query casts it to (`$1::text[]`).
 *
 * For a push's documents this replaces `pg`'s text format: every quote of the JSON escaped, the whole array built as
 * one rope of a string, then flattened to measure and encode it (benchmarks/, fifth round).
 */
export function binaryTextArray(items: readonly (string | null)[]): Buffer {
  const HEADER = 20;
  const TEXT_OID = 25;
  let size = HEADER;
  const lengths = items.map((item) => {
    const length = item === null ? 0 : Buffer.byteLength(item);
    size += 4 + length;
    return length;
  });
  const out = Buffer.allocUnsafe(size);
  out.writeInt32BE(1, 0); // dimensions
  out.writeInt32BE(items.includes(null) ? 1 : 0, 4); // has NULLs
  out.writeInt32BE(TEXT_OID, 8);
  out.writeInt32BE(items.length, 12);
  out.writeInt32BE(1, 16); // lower bound
  let at = HEADER;
  for (const [i, item] of items.entries()) {
    if (item === null) {
      out.writeInt32BE(-1, at);
      at += 4;
      continue;
    }
    const length = lengths[i] as number;
    out.writeInt32BE(length, at);
    out.write(item, at + 4, length, "utf8");
    at += 4 + length;
  }
  return out;
}
