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
  it("ignores what the device already has, and asks to pull anything else", () => {
    const hints = new LiveHints();
    expect(hints.receive(changed(5), at(5), false)).toBe(false);
    expect(hints.receive(changed(6), at(5), false)).toBe(true);
    expect(hints.receive({ type: "deleted", appId: "a", epoch: 3 }, at(5), false)).toBe(true);
    expect(hints.receive(changed(1), { epoch: 1, seq: 9 }, false)).toBe(true);
  });

  it("holds a change that arrives while pushes are in flight until their answers explain it, or releases it", () => {
    const hints = new LiveHints();
    expect(hints.receive(changed(7), at(5), true)).toBe(false);
    expect(hints.explained(at(6))).toBe(false);
    expect(hints.explained(at(7))).toBe(true);
    expect(hints.release(at(7))).toBe(false);
    hints.receive(changed(9), at(7), true);
    // The answers committed took the checkpoint to 8 only: seq 9 is another device's change.
    expect(hints.release(at(8))).toBe(true);
    expect(hints.release(at(8))).toBe(false);
  });

  it("keeps a carried change that follows the checkpoint as the next pull's page, once", () => {
    const hints = new LiveHints();
    const documents = [doc("x", 6), doc("y", 7)];
    expect(hints.receive(changed(7, { after: 5, documents }), at(5), false)).toBe(true);
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
