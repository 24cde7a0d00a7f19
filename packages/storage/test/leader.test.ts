import { describe, expect, it } from "vitest";
import { electLeader } from "../src/index.js";
import { electionCases } from "./leader-cases.js";

describe("leader election without Web Locks (BroadcastChannel)", () => {
  const cases = electionCases(() => null);
  it(
    "elects exactly one of three tabs and hands over when the leader closes",
    cases.oneLeaderAndHandover,
    10_000,
  );
  it("replaces a frozen leader and settles on one leader when it wakes", cases.frozenLeaderReplaced, 10_000);
  it("reports leadership as a stream", cases.emitsChanges, 10_000);

  it("leads alone in a context with neither Web Locks nor BroadcastChannel", () => {
    const e = electLeader({ name: "alone", locks: null, BroadcastChannel: null });
    expect(e.isLeader).toBe(true);
    e.close();
    expect(e.isLeader).toBe(false);
  });
});
