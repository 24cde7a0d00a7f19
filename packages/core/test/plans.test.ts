import { describe, expect, it } from "vitest";
import { HybridLogicalClock } from "../src/hlc.js";
import { INITIAL_SYNC_STATE, type LocalDocument, type OutboxEntry } from "../src/index.js";
import { docKey } from "../src/replication/plans.js";
import { planPushResults } from "../src/replication/push-plans.js";
import { Schema } from "../src/replication/schema.js";

const ctx = () => ({
  schema: new Schema(1),
  strategyOf: () => "lww" as const,
  clock: new HybridLogicalClock("d", () => 2_000),
  epoch: 1,
  newChangeId: () => "c-new",
  nextSeq: () => -1,
});

describe("planPushResults", () => {
  it("takes a conflict whose state the server left out for a reason to pull, keeping the change and its base", async () => {
    const base = { rev: 1, data: { v: 0 }, hlc: "000000000001000:000000:o", changeId: "c0" };
    const entry: OutboxEntry = {
      seq: 5,
      collection: "consent",
      id: "x",
      data: { v: 1 },
      hlc: "000000000002000:000000:d",
      changeId: "c1",
      epoch: 1,
    };
    const local: LocalDocument = { collection: "consent", id: "x", data: { v: 1 }, hlc: entry.hlc, base };
    const plan = await planPushResults(
      ctx(),
      {
        sync: { ...INITIAL_SYNC_STATE, epoch: 1 },
        documents: new Map([[docKey(local), local]]),
        entries: [entry],
      },
      [entry],
      {
        epoch: 1,
        serverTime: 2_000,
        results: [{ changeId: "c1", status: "conflict", reason: "stale", omitted: true }],
      },
      2_000,
    );
    expect(plan.pullNeeded).toBe(true);
    expect(plan.commit.outboxDelete ?? []).toEqual([]);
    expect(plan.commit.outboxPut ?? []).toEqual([]);
    // Not taken for "the server has no such document": the device keeps what it knows of the server's state.
    expect((plan.commit.documents ?? []).filter((d) => d.base === undefined)).toEqual([]);
  });
});
