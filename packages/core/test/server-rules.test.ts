import { describe, expect, it } from "vitest";
import {
  applyPatch,
  canonicalJson,
  checkPush,
  checkScope,
  DEFAULT_LIMITS,
  decideChange,
  decidePush,
  HokanError,
  measureChanges,
  type PushChange,
  pageLength,
  planPull,
  pushFingerprint,
  type ServerDocument,
} from "../src/index.js";

const current: ServerDocument = {
  collection: "settings",
  id: "a",
  data: { v: 1, keep: true },
  rev: 3,
  seq: 10,
  hlc: "000000000001000:000000:x",
  changeId: "c-prev",
  updatedAt: 1,
};

const change = (patch: Partial<PushChange> = {}): PushChange => ({
  collection: "settings",
  id: "a",
  changeId: "c-new",
  epoch: 2,
  baseRev: 3,
  hlc: "000000000002000:000000:y",
  data: { v: 2 },
  ...patch,
});

describe("decideChange", () => {
  it("accepts a change made on the current state in the current epoch", () => {
    // The accepted document comes with its JSON text and size, measured once for the limits and the store.
    const accepted = { kind: "accept", data: { v: 2 }, json: '{"v":2}', bytes: 7 };
    expect(decideChange(current, 2, change())).toEqual(accepted);
    expect(decideChange(undefined, 2, change({ baseRev: 0 }))).toEqual(accepted);
    expect(decideChange(current, 2, change({ data: null }))).toEqual({
      kind: "accept",
      data: null,
      bytes: 0,
    });
  });

  it("refuses a change from another epoch, epoch 0 included", () => {
    expect(decideChange(current, 2, change({ epoch: 1 }))).toEqual({ kind: "conflict", reason: "epoch" });
    expect(decideChange(current, 2, change({ epoch: 0 }))).toEqual({ kind: "conflict", reason: "epoch" });
  });

  it("answers a stale base with a conflict, for documents and patches alike", () => {
    expect(decideChange(current, 2, change({ baseRev: 2 }))).toEqual({ kind: "conflict", reason: "stale" });
    expect(decideChange(undefined, 2, change({ baseRev: 1 }))).toEqual({ kind: "conflict", reason: "stale" });
    const { data: _, ...bare } = change({ baseRev: 2 });
    const patch = { ...bare, patch: [{ op: "replace" as const, path: "/v", value: 9 }] };
    expect(decideChange(current, 2, patch)).toEqual({ kind: "conflict", reason: "stale" });
  });

  it("recognises its own change again by change id", () => {
    expect(decideChange({ ...current, changeId: "c-new" }, 2, change({ baseRev: 2 }))).toEqual({
      kind: "duplicate",
    });
  });

  it("applies a patch to the current state, and rejects one that does not apply", () => {
    const { data: _, ...bare } = change();
    expect(decideChange(current, 2, { ...bare, patch: [{ op: "replace", path: "/v", value: 9 }] })).toEqual({
      kind: "accept",
      data: { v: 9, keep: true },
      json: '{"v":9,"keep":true}',
      bytes: 19,
    });
    const bad = decideChange(current, 2, { ...bare, patch: [{ op: "remove", path: "/nope" }] });
    expect(bad.kind === "reject" && bad.error.code).toBe("bad-patch");
    const onNothing = decideChange(undefined, 2, { ...bare, baseRev: 0, patch: [] });
    expect(onNothing.kind === "reject" && onNothing.error.code).toBe("bad-patch");
    const toArray = decideChange(current, 2, { ...bare, patch: [{ op: "replace", path: "", value: [1] }] });
    expect(toArray.kind === "reject" && toArray.error.code).toBe("bad-patch");
  });

  it.each([
    ["an empty id", { id: "" }, "bad-request"],
    ["a control character in an id", { id: "a\u0000b" }, "bad-request"],
    ["a huge collection name", { collection: "c".repeat(300) }, "bad-request"],
    ["a negative epoch", { epoch: -1 }, "bad-request"],
    ["a fractional base revision", { baseRev: 1.5 }, "bad-request"],
    ["both data and patch", { patch: [] }, "bad-request"],
    ["an array as data", { data: [1] as never }, "bad-request"],
    [
      "a document over the size limit",
      { data: { blob: "x".repeat(DEFAULT_LIMITS.maxDocumentBytes) } },
      "payload-too-large",
    ],
    [
      "a document nested too deep",
      { data: JSON.parse(`${'{"a":'.repeat(40)}1${"}".repeat(40)}`) },
      "payload-too-large",
    ],
  ] as const)("rejects %s", (_name, patch, code) => {
    const d = decideChange(current, 2, change(patch as Partial<PushChange>));
    expect(d.kind).toBe("reject");
    if (d.kind === "reject") expect(d.error.code).toBe(code);
  });
});

const patchOnly = (patch: Partial<PushChange>, ops: PushChange["patch"]): PushChange => {
  const { data: _, ...rest } = change(patch);
  return { ...rest, ...(ops ? { patch: ops } : {}) };
};

describe("decidePush with documents measured ahead", () => {
  it("decides exactly as without, refusals included", () => {
    const big = { text: "x".repeat(DEFAULT_LIMITS.maxDocumentBytes) };
    const changes = [
      change({ id: "fresh", baseRev: 0, data: { v: 1, name: "ü" } }),
      change({ id: "a", data: null }),
      change({ id: "big", baseRev: 0, data: big }),
      patchOnly({ id: "a", changeId: "c-patch", baseRev: 4 }, [{ op: "add", path: "/v", value: 3 }]),
    ];
    const input = {
      changes,
      current: new Map([[JSON.stringify(["settings", "a"]), { doc: current, bytes: 20 }]]),
      epoch: 2,
      seq: 10,
      now: 5,
      limits: DEFAULT_LIMITS,
    };
    const measured = measureChanges(changes, DEFAULT_LIMITS);
    expect(measured.map((m) => (m === undefined ? "-" : "error" in m ? m.error.code : m.bytes))).toEqual([
      19,
      "-",
      "payload-too-large",
      "-",
    ]);
    const ahead = decidePush({ ...input, measured });
    expect(ahead).toEqual(decidePush(input));
    expect(ahead.results.map((r) => r.status)).toEqual(["accepted", "accepted", "rejected", "rejected"]);
    expect(ahead.writes.find((w) => w.id === "fresh")?.json).toBe('{"v":1,"name":"ü"}');
  });
});

describe("applyPatch", () => {
  it("does not touch its input", () => {
    const base = { a: { b: 1 } };
    applyPatch(base, [{ op: "replace", path: "/a/b", value: 2 }]);
    expect(base).toEqual({ a: { b: 1 } });
  });

  it("refuses what RFC 6902 does not name, and more operations than the limit", () => {
    const base = { a: 1 };
    const odd = applyPatch(base, [{ op: "_get", path: "/a", value: 1 } as never]);
    expect(odd).toMatchObject({ code: "bad-patch" });
    const many = Array.from({ length: DEFAULT_LIMITS.maxPatchOperations + 1 }, () => ({
      op: "test" as const,
      path: "/a",
      value: 1,
    }));
    expect(applyPatch(base, many)).toMatchObject({ code: "bad-patch" });
    expect(applyPatch(base, many.slice(1))).toEqual(base);
  });

  it("pays for what each operation adds or copies before doing it, from one budget per push", () => {
    const limits = { ...DEFAULT_LIMITS, maxPatchWorkBytes: 10_000 };
    const base = { blob: "x".repeat(1_000) };
    const doubling = Array.from({ length: 8 }, (_, i) => ({ op: "copy" as const, from: "", path: `/c${i}` }));
    // 1 KB, doubled eight times, would be 256 KB; the fourth copy (8 KB) passes the 10 KB budget.
    const budget = { bytes: limits.maxPatchWorkBytes };
    expect(applyPatch(base, doubling, limits, budget)).toMatchObject({
      code: "payload-too-large",
      message: expect.stringContaining("patch operation 3"),
    });
    const input = (n: number) => ({
      changes: Array.from({ length: n }, (_, i) =>
        patchOnly({ id: "a", changeId: `c-${i}`, baseRev: 3 + i }, [
          { op: "add", path: `/p${i}`, value: "y".repeat(4_000) },
        ]),
      ),
      current: new Map([[JSON.stringify(["settings", "a"]), { doc: current, bytes: 20 }]]),
      epoch: 2,
      seq: 10,
      now: 5,
      limits,
    });
    // Two patches of 4 KB fit the push's 10 KB; a third does not, though alone it would.
    expect(decidePush(input(2)).results.map((r) => r.status)).toEqual(["accepted", "accepted"]);
    const three = decidePush(input(3)).results;
    expect(three.map((r) => r.status)).toEqual(["accepted", "accepted", "rejected"]);
    expect(three[2]).toMatchObject({ code: "payload-too-large" });
  });
});

describe("planPull", () => {
  it("starts from the checkpoint in the same epoch and over from another epoch or an unknown future", () => {
    expect(planPull({ epoch: 0, seq: 0 }, 3, 50)).toEqual({ reset: false, afterSeq: 0 });
    expect(planPull({ epoch: 3, seq: 20 }, 3, 50)).toEqual({ reset: false, afterSeq: 20 });
    expect(planPull({ epoch: 2, seq: 20 }, 3, 50)).toEqual({ reset: true, afterSeq: 0 });
    expect(planPull({ epoch: 3, seq: 99 }, 3, 50)).toEqual({ reset: true, afterSeq: 0 });
  });

  it("refuses a malformed checkpoint", () => {
    expect(HokanError.is(planPull({ epoch: -1, seq: 0 }, 1, 0), "bad-request")).toBe(true);
    expect(HokanError.is(planPull({ epoch: 1, seq: Number.NaN }, 1, 0), "bad-request")).toBe(true);
  });
});

describe("checkPush and checkScope", () => {
  it("limits batches and checks the idempotency key", () => {
    const scope = { appId: "a", appVersion: "1", platform: "web" as const };
    const changes = Array.from({ length: DEFAULT_LIMITS.maxBatchChanges + 1 }, () => change());
    expect(checkPush({ scope, idempotencyKey: "key-12345", changes }, DEFAULT_LIMITS)?.code).toBe(
      "batch-too-large",
    );
    expect(checkPush({ scope, idempotencyKey: "short", changes: [] }, DEFAULT_LIMITS)?.code).toBe(
      "bad-request",
    );
    expect(checkPush({ scope, idempotencyKey: "key-12345", changes: [] }, DEFAULT_LIMITS)).toBeUndefined();
  });

  it("turns registry refusals into errors", () => {
    const scope = { appId: "jp.example.mail", appVersion: "1.0.0", platform: "ios" as const };
    const entry = { appId: scope.appId, platform: "ios" as const, capabilities: ["restore" as const] };
    expect(checkScope(null, scope, "backup", 0)?.code).toBe("unsupported");
    expect(checkScope(entry, scope, "backup", 0)?.code).toBe("capability");
    expect(checkScope(entry, scope, "restore", 0)).toBeUndefined();
    expect(checkScope(entry, scope, "bulkDelete", 0)?.code).toBe("capability");
  });
});

describe("idempotency fingerprints", () => {
  it("are stable under key order and differ for different changes", () => {
    expect(canonicalJson({ b: 1, a: [1, { d: 2, c: 3 }] })).toBe('{"a":[1,{"c":3,"d":2}],"b":1}');
    const a = change();
    const reordered = Object.fromEntries(Object.entries(a).reverse()) as unknown as PushChange;
    expect(pushFingerprint([a])).toBe(pushFingerprint([reordered]));
    expect(pushFingerprint([a])).not.toBe(pushFingerprint([change({ changeId: "other" })]));
    expect(pushFingerprint([a])).not.toBe(pushFingerprint([change({ baseRev: 7 })]));
    expect(pushFingerprint([a])).not.toBe(pushFingerprint([change({ data: null })]));
    expect(pushFingerprint([a])).not.toBe(pushFingerprint([change({ patch: [] })]));
    expect(pushFingerprint([a, a])).not.toBe(pushFingerprint([a]));
  });
});

describe("checkQuota", () => {
  it("refuses growth past the quota, and never a push that shrinks the backup", async () => {
    const { checkQuota } = await import("../src/index.js");
    expect(checkQuota("a", 900, { bytesDelta: 100 }, 1000)).toBeUndefined();
    expect(checkQuota("a", 900, { bytesDelta: 101 }, 1000)?.code).toBe("quota");
    expect(checkQuota("a", 1500, { bytesDelta: -100 }, 1000)).toBeUndefined();
    expect(checkQuota("a", 1500, { bytesDelta: 1 }, undefined)).toBeUndefined();
  });
});

describe("pageLength", () => {
  it("takes documents while within the limit and the bytes, always the first", () => {
    expect(pageLength([], 10, 100)).toBe(0);
    expect(pageLength([10, 20, 30], 10, 100)).toBe(3);
    expect(pageLength([10, 20, 30], 2, 100)).toBe(2);
    expect(pageLength([60, 40, 1], 10, 100)).toBe(2); // exactly at the limit fits
    expect(pageLength([60, 41, 1], 10, 100)).toBe(1); // the one that would pass it ends the page
    expect(pageLength([500, 1], 10, 100)).toBe(1); // a first document over the limit still makes a page
    expect(pageLength([0, 0, 0], 2, 0)).toBe(2);
  });
});
