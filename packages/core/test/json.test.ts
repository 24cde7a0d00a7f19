import { describe, expect, it } from "vitest";
import { jsonSize } from "../src/index.js";
import { utf8Length } from "../src/json.js";

describe("document sizes", () => {
  it("count UTF-8 bytes as an encoder would, without encoding", () => {
    const encoder = new TextEncoder();
    for (const text of [
      "",
      "plain ascii",
      "café",
      "利用設定 海外",
      "emoji 🙂 and 𝄞",
      "lone \ud800 high",
      "lone \udc00 low",
      "end \ud83d",
    ]) {
      expect(utf8Length(text)).toBe(encoder.encode(text).byteLength);
    }
    expect(jsonSize({ consent: "同意", v: 1 })).toBe(encoder.encode('{"consent":"同意","v":1}').byteLength);
  });
});
