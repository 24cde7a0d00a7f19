import { describe, expect, it } from "vitest";
import { cloneJson, type JsonObject, jsonSize } from "../src/index.js";
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

describe("copies of documents", () => {
  it("are deep and equal, keep a `__proto__` key as data, and need no structuredClone (Hermes has none)", () => {
    const saved = globalThis.structuredClone;
    // @ts-expect-error: removed as on React Native's Hermes
    delete globalThis.structuredClone;
    try {
      const doc = JSON.parse(
        '{"a":{"b":[1,{"c":null}],"__proto__":{"polluted":true}},"s":"同意","n":1.5,"t":true}',
      ) as JsonObject;
      const copy = cloneJson(doc);
      expect(copy).toEqual(doc);
      expect(JSON.stringify(copy)).toBe(JSON.stringify(doc));
      (doc.a as { b: unknown[] }).b.push(2);
      expect((copy.a as { b: unknown[] }).b).toHaveLength(2);
      const a = copy.a as Record<string, unknown>;
      expect(Object.getPrototypeOf(a)).toBe(Object.prototype);
      expect(Object.hasOwn(a, "__proto__")).toBe(true);
      expect(a.polluted).toBeUndefined();
    } finally {
      globalThis.structuredClone = saved;
    }
  });
});
