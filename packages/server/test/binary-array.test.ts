import { describe, expect, it } from "vitest";
import { binaryTextArray } from "../src/binary-array.js";
import { scratchDatabase } from "../src/testing.js";

const VALUES = [
  "",
  '{"quote":"\\"","backslash":"\\\\"}',
  "{}",
  null,
  "é ü 漢字 🎌",
  "a,b",
  "{x}",
  "NULL",
  null,
];

describe("binaryTextArray", () => {
  it.each(["pglite", "postgres"] as const)("is read back exactly by %s as text[]", async (kind) => {
    const scratch = await scratchDatabase(kind, { prefix: "hokan_test" });
    try {
      const rows = await scratch.db.query<{ v: string | null; n: string }>(
        "SELECT v, n FROM unnest($1::text[]) WITH ORDINALITY AS t(v, n) ORDER BY n",
        [binaryTextArray(VALUES)],
      );
      expect(rows.map((r) => r.v)).toEqual(VALUES);
      const [empty] = await scratch.db.query<{ n: number }>("SELECT cardinality($1::text[]) AS n", [
        binaryTextArray([]),
      ]);
      expect(Number(empty?.n)).toBe(0);
    } finally {
      await scratch.db.close();
      await scratch.drop();
    }
  });

  it("writes the binary array format: one dimension, the NULL flag, text elements behind their byte lengths", () => {
    const bytes = binaryTextArray(["é", null]);
    expect([...bytes.subarray(0, 20)]).toEqual([0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 25, 0, 0, 0, 2, 0, 0, 0, 1]);
    expect(bytes.readInt32BE(20)).toBe(2); // "é" is two bytes of UTF-8
    expect([...bytes.subarray(24, 26)]).toEqual([0xc3, 0xa9]);
    expect(bytes.readInt32BE(26)).toBe(-1);
    expect(bytes.length).toBe(30);
    expect(binaryTextArray(["a"]).readInt32BE(4)).toBe(0);
  });
});
