import { describe, expect, it } from "vitest";
import type { LiveEvent, ServerDocument } from "../src/index.js";
import { LiveHints } from "../src/replication/live-hints.js";

const doc = (id: string, seq: number): ServerDocument => ({
  collection: "settings",
  id,
  data: { v: seq },
  rev: 1,
  seq,
  hlc: `00000000000000${seq}:000000:d`,
  changeId: `c${seq}`,
  updatedAt: 1,
  schemaVersion: 1,
});
const changed = (seq: number, carried?: { after: number; documents: ServerDocument[] }): LiveEvent => ({
  type: "changed",
  appId: "a",
  epoch: 2,
  seq,
  ...carried,
});
const at = (seq: number) => ({ epoch: 2, seq });

describe("live hints", () => {
  it("ignores what the device already has, asks to pull anything else, and hands a change to hold while pushing", () => {
    const hints = new LiveHints();
    expect(hints.receive(changed(5), at(5), false)).toBe("ignore");
    expect(hints.receive(changed(6), at(5), false)).toBe("pull");
    expect(hints.receive({ type: "deleted", appId: "a", epoch: 3 }, at(5), false)).toBe("pull");
    expect(hints.receive(changed(1), { epoch: 1, seq: 9 }, false)).toBe("pull");
    expect(hints.receive(changed(7), at(5), true)).toEqual({ hold: 7 });
    expect(hints.receive(changed(5), at(5), true)).toBe("ignore");
    // A change held is not kept as a page: the push session decides what it was.
    hints.receive(changed(7, { after: 5, documents: [doc("x", 7)] }), at(5), true);
    expect(hints.takePage(at(5))).toBeUndefined();
  });

  it("keeps a carried change that follows the checkpoint as the next pull's page, once", () => {
    const hints = new LiveHints();
    const documents = [doc("x", 6), doc("y", 7)];
    expect(hints.receive(changed(7, { after: 5, documents }), at(5), false)).toBe("pull");
    expect(hints.takePage(at(5))).toEqual({
      epoch: 2,
      reset: false,
      more: false,
      checkpoint: at(7),
      documents,
      serverTime: Number.NaN,
    });
    expect(hints.takePage(at(5))).toBeUndefined();
  });

  it("does not keep a carried change after a gap, nor hand one out once the checkpoint moved", () => {
    const hints = new LiveHints();
    hints.receive(changed(9, { after: 8, documents: [doc("x", 9)] }), at(5), false);
    expect(hints.takePage(at(5))).toBeUndefined();
    hints.receive(changed(6, { after: 5, documents: [doc("x", 6)] }), at(5), false);
    expect(hints.takePage(at(6))).toBeUndefined();
    expect(hints.takePage(at(5))).toBeUndefined();
    hints.receive(changed(6, { after: 5, documents: [doc("x", 6)] }), at(5), false);
    hints.clear();
    expect(hints.takePage(at(5))).toBeUndefined();
  });
});
