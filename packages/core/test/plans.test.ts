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

  it("tells a store that takes acknowledgements which documents still hold the write acknowledged, and writes the rest whole", async () => {
    const change = (seq: number, id: string): OutboxEntry => ({
      seq,
      collection: "settings",
      id,
      data: { v: seq },
      hlc: `00000000000200${seq}:000000:d`,
      changeId: `c${seq}`,
      epoch: 1,
    });
    const held = change(1, "held");
    const since = change(2, "since");
    const documents = new Map<string, LocalDocument>([
      [docKey(held), { collection: "settings", id: "held", data: { v: 1 }, hlc: held.hlc }],
      // Written again while its change was on its way: it no longer holds the write acknowledged.
      [
        docKey(since),
        { collection: "settings", id: "since", data: { v: 9 }, hlc: "000000000009000:000000:d" },
      ],
    ]);
    const answer = (acknowledgements: boolean) =>
      planPushResults(
        { ...ctx(), acknowledgements },
        { sync: { ...INITIAL_SYNC_STATE, epoch: 1 }, documents, entries: [held, since] },
        [held, since],
        {
          epoch: 1,
          serverTime: 2_000,
          results: [
            { changeId: "c1", status: "accepted", rev: 4, seq: 4 },
            { changeId: "c2", status: "accepted", rev: 7, seq: 5 },
          ],
        },
        2_000,
      );
    const taken = await answer(true);
    expect(taken.commit.acknowledged).toEqual([
      { collection: "settings", id: "held", hlc: held.hlc, rev: 4, changeId: "c1" },
    ]);
    expect(taken.commit.documents).toEqual([
      {
        collection: "settings",
        id: "since",
        data: { v: 9 },
        hlc: "000000000009000:000000:d",
        base: { rev: 7, data: { v: 2 }, hlc: since.hlc, changeId: "c2" },
      },
    ]);
    // Without the store's word, both go whole, as before.
    const whole = await answer(false);
    expect(whole.commit.acknowledged).toBeUndefined();
    expect(whole.commit.documents?.map((d) => [d.id, d.base?.rev])).toEqual([
      ["since", 7],
      ["held", 4],
    ]);
  });
});
