import { describe, expect, it } from "vitest";
import { electionCases } from "./leader-cases.js";

describe("leader election with Web Locks in Chromium", () => {
  it("has Web Locks", () => {
    expect(navigator.locks).toBeDefined();
  });
  const cases = electionCases(() => navigator.locks);
  it(
    "elects exactly one of three tabs and hands over when the leader closes",
    cases.oneLeaderAndHandover,
    10_000,
  );
  it(
    "steals the lock from a frozen leader and settles on one leader when it wakes",
    cases.frozenLeaderReplaced,
    10_000,
  );
  it("reports leadership as a stream", cases.emitsChanges, 10_000);
});
