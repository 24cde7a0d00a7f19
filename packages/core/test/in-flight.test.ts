import { describe, expect, it } from "vitest";
import type { PushResponse } from "../src/index.js";
import { type InFlightBatch, nextToCommit, trackBatch } from "../src/replication/in-flight.js";

/** A batch whose answer accepted changes at the given feed positions (or failed, or is still out). */
async function batch(name: string, answer: number[] | "failed" | "pending"): Promise<InFlightBatch> {
  const response: PushResponse = {
    epoch: 1,
    serverTime: 0,
    results:
      answer === "failed" || answer === "pending"
        ? []
        : answer.map((seq) => ({ changeId: `${name}${seq}`, status: "accepted" as const, rev: 1, seq })),
  };
  const reply =
    answer === "pending"
      ? new Promise<PushResponse>(() => undefined)
      : answer === "failed"
        ? Promise.reject(new Error("cut"))
        : Promise.resolve(response);
  const b = trackBatch({ batch: [], changes: [] }, name, 0, reply);
  if (answer !== "pending") await b.settled;
  return b;
}

const cp = (seq: number) => ({ epoch: 1, seq });

describe("nextToCommit", () => {
  it("takes the answer the server applied first, whatever the order they were sent in", async () => {
    const window = [await batch("a", [4, 5]), await batch("b", [2, 3])];
    expect(nextToCommit(window, cp(1))?.key).toBe("b");
  });

  it("holds an answer that leaves a gap while a batch that may fill it is still out", async () => {
    const window = [await batch("a", "pending"), await batch("b", [4, 5])];
    expect(nextToCommit(window, cp(1))).toBeUndefined();
    // Nothing left out: the gap is another device's change, to be pulled; commit what is there.
    expect(nextToCommit([window[1] as InFlightBatch], cp(1))?.key).toBe("b");
  });

  it("takes failures and answers with nothing accepted at once", async () => {
    const failed = [await batch("a", "pending"), await batch("b", [9]), await batch("c", "failed")];
    expect(nextToCommit(failed, cp(1))?.key).toBe("c");
    const refused = [await batch("a", "pending"), await batch("b", [])];
    expect(nextToCommit(refused, cp(1))?.key).toBe("b");
  });

  it("waits for the first answer", async () => {
    expect(nextToCommit([await batch("a", "pending")], cp(0))).toBeUndefined();
  });
});
