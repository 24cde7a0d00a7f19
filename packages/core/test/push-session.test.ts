import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type BatchAnswer,
  nextToCommit,
  type PushEffect,
  type PushEnvironment,
  type PushEvent,
  type PushSession,
  type SessionBatch,
  startPush,
  stepPush,
} from "../src/replication/push-session.js";

const cp = (seq: number) => ({ epoch: 1, seq });
const ok = (firstSeq: number): BatchAnswer => ({ ok: true, epoch: 1, firstSeq });
const FAILED: BatchAnswer = { ok: false };
const go: PushEnvironment = { mayContinue: true, checkpoint: cp(0) };
const halt: PushEnvironment = { mayContinue: false, checkpoint: cp(0) };

/** Runs events from a new session of `lanes`; the effects of each step, by type and id. */
function run(lanes: number, events: readonly [PushEvent, PushEnvironment?][]) {
  const begun = startPush(lanes);
  let session: PushSession = begun.session;
  const steps: string[][] = [begun.effects.map(show)];
  for (const [event, env] of events) {
    const step = stepPush(session, event, env ?? go);
    session = step.session;
    steps.push(step.effects.map(show));
  }
  return { session, steps };
}
const show = (e: PushEffect) =>
  e.type === "finish"
    ? `finish${e.failed ? " failed" : ""}${e.pullNeeded ? " pull" : ""}${e.hinted ? " hinted" : ""}`
    : "id" in e
      ? `${e.type} ${e.id}`
      : e.type;

describe("nextToCommit", () => {
  const batch = (id: number, answer?: BatchAnswer): SessionBatch => (answer ? { id, answer } : { id });
  it("takes the answer the server applied first, whatever the order they were sent in", () => {
    expect(nextToCommit([batch(1, ok(4)), batch(2, ok(2))], cp(1))?.id).toBe(2);
  });
  it("holds an answer that leaves a gap while a batch that may fill it is still out", () => {
    expect(nextToCommit([batch(1), batch(2, ok(4))], cp(1))).toBeUndefined();
    // Nothing left out: the gap is another device's change, to be pulled; commit what is there.
    expect(nextToCommit([batch(2, ok(4))], cp(1))?.id).toBe(2);
  });
  it("takes failures and answers with nothing accepted at once", () => {
    expect(nextToCommit([batch(1), batch(2, ok(9)), batch(3, FAILED)], cp(1))?.id).toBe(3);
    expect(nextToCommit([batch(1), batch(2, ok(Number.POSITIVE_INFINITY))], cp(1))?.id).toBe(2);
  });
  it("waits for the first answer", () => {
    expect(nextToCommit([batch(1)], cp(0))).toBeUndefined();
  });
});

describe("a push session", () => {
  it("sends its first batch whatever the runner says, then fills its window while it may", () => {
    const { steps } = run(2, [
      [{ type: "prepared", id: 1 }, halt],
      [{ type: "answered", id: 1, answer: ok(1) }],
      [{ type: "committed", id: 1, pullNeeded: false }],
      [{ type: "prepared", id: 2 }],
      [{ type: "prepared", id: 3 }],
    ]);
    expect(steps).toEqual([
      ["prepare"],
      // Told to stop once the first went out: it sends it, prepares nothing more, and waits for its answer.
      ["send 1"],
      ["commit 1"],
      ["prepare"],
      ["send 2", "prepare"],
      ["send 3"],
    ]);
  });

  it("finishes at once when there is nothing to send", () => {
    const { session, steps } = run(3, [[{ type: "prepared" }]]);
    expect(steps).toEqual([["prepare"], ["finish"]]);
    expect(session.done).toBe(true);
    // A finished session does nothing more.
    expect(stepPush(session, { type: "prepared", id: 1 }, go).effects).toEqual([]);
  });

  it("commits no answer while it is filling, then commits them in the server's order", () => {
    const { steps } = run(3, [
      [{ type: "prepared", id: 1 }],
      [{ type: "answered", id: 1, answer: ok(3) }],
      [{ type: "prepared", id: 2 }],
      [{ type: "prepared" }],
      [{ type: "answered", id: 2, answer: ok(1) }],
      [
        { type: "committed", id: 2, pullNeeded: false },
        { mayContinue: true, checkpoint: cp(2) },
      ],
      [{ type: "prepared" }, { mayContinue: true, checkpoint: cp(2) }],
      [
        { type: "committed", id: 1, pullNeeded: false },
        { mayContinue: true, checkpoint: cp(4) },
      ],
      [{ type: "prepared" }, { mayContinue: true, checkpoint: cp(4) }],
    ]);
    expect(steps).toEqual([
      ["prepare"],
      ["send 1", "prepare"],
      [],
      ["send 2", "prepare"],
      // Nothing more to send: batch 1's answer leaves a gap (3 after 0) while 2 is out.
      [],
      ["commit 2"],
      ["prepare"],
      ["commit 1"],
      ["prepare"],
      ["finish"],
    ]);
  });

  it("sends nothing new after a failure or a needed pull, commits what is out, and finishes saying so", () => {
    const failed = run(2, [
      [{ type: "prepared", id: 1 }],
      [{ type: "prepared", id: 2 }],
      [{ type: "answered", id: 1, answer: FAILED }],
      [{ type: "committed", id: 1, pullNeeded: false }],
      [{ type: "answered", id: 2, answer: ok(1) }],
      [{ type: "committed", id: 2, pullNeeded: false }],
    ]);
    expect(failed.steps).toEqual([
      ["prepare"],
      ["send 1", "prepare"],
      ["send 2"],
      ["commit 1"],
      [],
      ["commit 2"],
      ["finish failed"],
    ]);
    const pull = run(2, [
      [{ type: "prepared", id: 1 }],
      [{ type: "prepared", id: 2 }],
      [{ type: "answered", id: 1, answer: ok(1) }],
      [{ type: "committed", id: 1, pullNeeded: true }],
      [{ type: "answered", id: 2, answer: ok(5) }],
      [{ type: "committed", id: 2, pullNeeded: false }],
    ]);
    expect(pull.steps.at(-3)).toEqual([]);
    expect(pull.steps.at(-1)).toEqual(["finish pull"]);
  });

  it("holds a live hint while batches are out: nothing new goes out until an answer explains it", () => {
    const at = (seq: number) => ({ mayContinue: true, checkpoint: cp(seq) });
    const explained = run(2, [
      [{ type: "prepared", id: 1 }],
      [{ type: "hint", seq: 1 }],
      [{ type: "prepared" }],
      [{ type: "answered", id: 1, answer: ok(1) }],
      // The answer took the checkpoint to 1: the hint was this device's own push, and sending goes on.
      [{ type: "committed", id: 1, pullNeeded: false }, at(1)],
      [{ type: "prepared" }, at(1)],
    ]);
    expect(explained.steps).toEqual([
      ["prepare"],
      ["send 1", "prepare"],
      [],
      [],
      ["commit 1"],
      ["prepare"],
      ["finish"],
    ]);
    const other = run(2, [
      [{ type: "prepared", id: 1 }],
      [{ type: "hint", seq: 5 }],
      [{ type: "prepared", id: 2 }],
      [{ type: "answered", id: 1, answer: ok(1) }],
      // Held: no batch is prepared after the commit while the hint is unexplained.
      [{ type: "committed", id: 1, pullNeeded: false }, at(1)],
      [{ type: "answered", id: 2, answer: ok(2) }, at(1)],
      // Nothing explained seq 5: another device's change, to pull once the push is over.
      [{ type: "committed", id: 2, pullNeeded: false }, at(2)],
    ]);
    expect(other.steps).toEqual([
      ["prepare"],
      ["send 1", "prepare"],
      [],
      ["send 2"],
      ["commit 1"],
      [],
      ["commit 2"],
      ["finish hinted"],
    ]);
  });

  it("commits any interleaving of answers in the order the server applied them", () => {
    // A model of the server: batches are applied in some order (each takes the next feed positions), and their
    // answers arrive in another; some are lost (the request fails, applied or not).
    const scenario = fc.record({
      batches: fc.integer({ min: 1, max: 6 }),
      lanes: fc.integer({ min: 1, max: 4 }),
      sizes: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 6, maxLength: 6 }),
      lost: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
      choices: fc.array(fc.nat(), { minLength: 60, maxLength: 60 }),
    });
    fc.assert(
      fc.property(scenario, ({ batches, lanes, sizes, lost, choices }) => {
        let checkpoint = 0;
        let feed = 0;
        let prepared = 0;
        const out: number[] = [];
        const applied = new Map<number, number>();
        const answered = new Set<number>();
        const committed: { id: number; firstSeq?: number }[] = [];
        let finished = 0;
        const env = () => ({ mayContinue: true, checkpoint: cp(checkpoint) });
        const begun = startPush(lanes);
        let session = begun.session;
        const queue = [...begun.effects];
        const feedEvent = (e: PushEvent) => {
          const step = stepPush(session, e, env());
          session = step.session;
          queue.push(...step.effects);
        };
        let pick = 0;
        for (let guard = 0; guard < 1000; guard++) {
          const effect = queue.shift();
          if (effect) {
            if (effect.type === "prepare") {
              feedEvent({ type: "prepared", ...(prepared < batches ? { id: ++prepared } : {}) });
            } else if (effect.type === "send") {
              out.push(effect.id);
            } else if (effect.type === "commit") {
              const firstSeq = applied.get(effect.id);
              committed.push({
                id: effect.id,
                ...(firstSeq === undefined || lost[effect.id - 1] ? {} : { firstSeq }),
              });
              let pullNeeded = false;
              if (firstSeq !== undefined && !lost[effect.id - 1]) {
                if (firstSeq === checkpoint + 1) checkpoint = firstSeq + (sizes[effect.id - 1] as number) - 1;
                else pullNeeded = true;
              }
              feedEvent({ type: "committed", id: effect.id, pullNeeded });
            } else finished++;
            continue;
          }
          if (session.done) break;
          // The server applies a batch, or an answer arrives.
          const unapplied = out.filter((id) => !applied.has(id) && !(lost[id - 1] && answered.has(id)));
          const arrivable = out.filter((id) => !answered.has(id) && (applied.has(id) || lost[id - 1]));
          const options = [
            ...unapplied.map((id) => ["apply", id] as const),
            ...arrivable.map((id) => ["arrive", id] as const),
          ];
          if (options.length === 0) break;
          const [what, id] = options[
            (choices[pick++ % choices.length] as number) % options.length
          ] as (typeof options)[number];
          if (what === "apply") {
            applied.set(id, feed + 1);
            feed += sizes[id - 1] as number;
          } else {
            answered.add(id);
            const firstSeq = applied.get(id);
            feedEvent({
              type: "answered",
              id,
              answer: lost[id - 1] || firstSeq === undefined ? FAILED : ok(firstSeq),
            });
          }
        }
        expect(finished).toBe(1);
        expect(session.done).toBe(true);
        // Every batch that went out is committed once, and the applied ones in the server's order.
        expect(committed.map((c) => c.id).sort()).toEqual([...out].sort());
        const order = committed.flatMap((c) => (c.firstSeq === undefined ? [] : [c.firstSeq]));
        expect(order).toEqual([...order].sort((a, b) => a - b));
      }),
      { numRuns: 2000 },
    );
  });
});
