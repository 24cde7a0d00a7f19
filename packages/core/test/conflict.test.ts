import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import {
  type ConflictInput,
  checkStrategies,
  conflictHandler,
  createReplication,
  diff,
  lww,
  merge,
  threeWayMerge,
  type WithDeleted,
} from "../src/index.js";
import { MemoryStore } from "../src/testing/index.js";
import { applyYjsDocument, encodeYDoc, type YjsDocument, yjs } from "../src/yjs.js";

const early = "000000000001000:000000:a";
const late = "000000000002000:000000:b";
const doc = (data: Record<string, unknown>, deleted = false) =>
  ({ ...data, _deleted: deleted }) as WithDeleted;

function input(
  local: WithDeleted,
  real: WithDeleted,
  base?: WithDeleted,
  localIsLater = true,
): ConflictInput {
  return {
    newDocumentState: local,
    realMasterState: real,
    ...(base ? { assumedMasterState: base } : {}),
    newHlc: localIsLater ? late : early,
    realHlc: localIsLater ? early : late,
  };
}

describe("lww", () => {
  it("takes the later side by HLC and the server's side on a tie", async () => {
    expect(await lww.resolve(input(doc({ v: 1 }), doc({ v: 2 })), "")).toEqual(doc({ v: 1 }));
    expect(await lww.resolve(input(doc({ v: 1 }), doc({ v: 2 }), undefined, false), "")).toEqual(
      doc({ v: 2 }),
    );
    const tie = { ...input(doc({ v: 1 }), doc({ v: 2 })), newHlc: early, realHlc: early };
    expect(await lww.resolve(tie, "")).toEqual(doc({ v: 2 }));
  });

  it("compares states as JSON, deleted states alike whatever they held", () => {
    expect(lww.isEqual(doc({ a: 1, b: [1, 2] }), doc({ b: [1, 2], a: 1 }), "")).toBe(true);
    expect(lww.isEqual(doc({ a: 1 }, true), doc({ b: 2 }, true), "")).toBe(true);
    expect(lww.isEqual(doc({ a: 1 }), doc({ a: 1 }, true), "")).toBe(false);
  });
});

describe("merge", () => {
  it("keeps edits to different fields from both sides", async () => {
    const base = doc({ theme: "light", font: 12, sound: "on" });
    const local = doc({ theme: "dark", font: 12, sound: "on" });
    const real = doc({ theme: "light", font: 16, sound: "on" });
    expect(await merge.resolve(input(local, real, base), "")).toEqual(
      doc({ theme: "dark", font: 16, sound: "on" }),
    );
  });

  it("gives a field both sides changed to the later side", async () => {
    const base = doc({ theme: "light" });
    expect(
      await merge.resolve(input(doc({ theme: "dark" }), doc({ theme: "blue" }), base, true), ""),
    ).toEqual(doc({ theme: "dark" }));
    expect(
      await merge.resolve(input(doc({ theme: "dark" }), doc({ theme: "blue" }), base, false), ""),
    ).toEqual(doc({ theme: "blue" }));
  });

  it("merges nested objects field by field and treats a change inside a replaced object as a clash", () => {
    const base = { prefs: { a: 1, b: 1 }, other: 1 };
    expect(
      threeWayMerge(base, { prefs: { a: 2, b: 1 }, other: 1 }, { prefs: { a: 1, b: 3 }, other: 1 }, false),
    ).toEqual({ prefs: { a: 2, b: 3 }, other: 1 });
    expect(
      threeWayMerge(base, { prefs: { a: 2, b: 1 }, other: 1 }, { prefs: "gone", other: 1 }, false),
    ).toEqual({
      prefs: "gone",
      other: 1,
    });
    expect(
      threeWayMerge(base, { prefs: { a: 2, b: 1 }, other: 1 }, { prefs: "gone", other: 1 }, true),
    ).toEqual({
      prefs: { a: 2 },
      other: 1,
    });
  });

  it("recreates an object the other side removed when the edit inside it is the later one", () => {
    expect(threeWayMerge({ p: { a: 1 } }, { p: { a: 1, b: 2 } }, {}, true)).toEqual({ p: { b: 2 } });
    expect(threeWayMerge({ p: { a: 1 } }, { p: { a: 1, b: 2 } }, {}, false)).toEqual({});
  });

  it("treats arrays as single values", async () => {
    expect(diff({ list: [1, 2, 3] }, { list: [1, 3] })).toEqual([
      { op: "add", path: "/list", value: [1, 3] },
    ]);
    const base = doc({ list: [1, 2] });
    const merged = await merge.resolve(
      input(doc({ list: [1, 2, 3] }), doc({ list: [0, 1, 2] }), base, false),
      "",
    );
    expect(merged).toEqual(doc({ list: [0, 1, 2] }));
  });

  it("merges two independent creations field by field", async () => {
    expect(await merge.resolve(input(doc({ a: 1 }), doc({ b: 2 })), "")).toEqual(doc({ a: 1, b: 2 }));
  });

  it("decides a deletion against an edit by the clock", async () => {
    const base = doc({ a: 1 });
    expect(await merge.resolve(input(doc({}, true), doc({ a: 2 }), base, true), "")).toEqual(doc({}, true));
    expect(await merge.resolve(input(doc({}, true), doc({ a: 2 }), base, false), "")).toEqual(doc({ a: 2 }));
  });

  it("handles keys that need escaping in JSON pointers", () => {
    expect(threeWayMerge({}, { "a/b": 1, "c~d": 2 }, { e: 3 }, false)).toEqual({ "a/b": 1, "c~d": 2, e: 3 });
  });
});

describe("yjs", () => {
  function textDoc(build: (d: Y.Doc) => void, from?: YjsDocument): YjsDocument {
    const d = new Y.Doc();
    if (from) applyYjsDocument(d, from);
    build(d);
    return encodeYDoc(d);
  }
  const text = (v: YjsDocument) => {
    const d = new Y.Doc();
    applyYjsDocument(d, v);
    return d.getText("t").toString();
  };

  it("merges concurrent edits exactly, in either order", async () => {
    const base = textDoc((d) => d.getText("t").insert(0, "hello"));
    const a = textDoc((d) => d.getText("t").insert(0, ">> "), base);
    const b = textDoc((d) => d.getText("t").insert(5, " world"), base);
    const ab = (await yjs.resolve(input(doc(a), doc(b)), "")) as WithDeleted<YjsDocument>;
    const ba = (await yjs.resolve(input(doc(b), doc(a)), "")) as WithDeleted<YjsDocument>;
    expect(text(ab)).toBe(">> hello world");
    expect(yjs.isEqual(ab, ba, "")).toBe(true);
  });

  it("sees deletions when comparing states", () => {
    const base = textDoc((d) => d.getText("t").insert(0, "hello"));
    const cut = textDoc((d) => d.getText("t").delete(0, 1), base);
    expect(yjs.isEqual(doc(base), doc(cut), "")).toBe(false);
    expect(yjs.isEqual(doc(base), doc({ update: base.update }), "")).toBe(true);
  });

  it("refuses documents that are not Yjs states", () => {
    expect(() => yjs.resolve(input(doc({ text: "x" }), doc({ text: "y" })), "")).toThrow(/update/);
  });
});

describe("conflictHandler", () => {
  it("names the built-ins and passes a custom handler through", () => {
    expect(conflictHandler("lww")).toBe(lww);
    expect(conflictHandler("merge")).toBe(merge);
    const custom = { isEqual: () => true, resolve: (i: ConflictInput) => i.realMasterState };
    expect(conflictHandler(custom)).toBe(custom);
    expect(conflictHandler(yjs)).toBe(yjs);
  });

  it("refuses a strategy named by a string it does not have, saying where yjs comes from", () => {
    expect(() => checkStrategies({ notes: "yjs" as never })).toThrow(
      /collection "notes": the yjs strategy is imported where it is used: import \{ yjs \} from "@hokan\/core\/yjs"/,
    );
    expect(() => checkStrategies({ prefs: "newest" as never })).toThrow(
      /"newest" is not a conflict strategy/,
    );
    expect(() => checkStrategies({ prefs: {} as never })).toThrow(/a handler with isEqual and resolve/);
    expect(() => checkStrategies({ a: "lww", b: "merge", c: yjs })).not.toThrow();
    // At the door: a replication is not created with one.
    expect(() =>
      createReplication({
        store: new MemoryStore(),
        transport: {} as never,
        accountId: "alice",
        deviceId: "d1",
        app: { appId: "jp.example.notes", appVersion: "1.0.0", platform: "android" },
        registry: { kind: "unknown" } as never,
        collections: { notes: "yjs" as never },
      } as never),
    ).toThrow(/@hokan\/core\/yjs/);
  });
});
