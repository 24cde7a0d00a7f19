import { describe, expect, it } from "vitest";
import {
  type PageAnswer,
  type PullEffect,
  type PullEvent,
  type PullSession,
  startPull,
  stepPull,
} from "../src/replication/pull-session.js";

const cp = (seq: number) => ({ epoch: 1, seq });
const page = (seq: number, more: boolean, reset = false): PageAnswer => ({
  ok: true,
  more,
  reset,
  checkpoint: cp(seq),
});
const show = (e: PullEffect) =>
  e.type === "ask"
    ? `ask ${e.id} from ${e.checkpoint.seq}`
    : e.type === "finish"
      ? `finish${e.more ? " more" : ""}${e.restored ? " restored" : ""}`
      : `${e.type} ${e.id}`;

function run(carried: boolean, events: readonly [PullEvent, boolean?][]) {
  const begun = startPull(cp(0), carried);
  let session: PullSession = begun.session;
  const steps = [begun.effects.map(show)];
  for (const [event, mayContinue] of events) {
    const step = stepPull(session, event, mayContinue ?? true);
    session = step.session;
    steps.push(step.effects.map(show));
  }
  return { session, steps };
}

describe("a pull session", () => {
  it("asks for the next page before committing this one, and commits them in order", () => {
    const { steps, session } = run(false, [
      [{ type: "answered", id: 1, answer: page(10, true) }],
      [{ type: "committed", id: 1, stale: false }],
      [{ type: "answered", id: 2, answer: page(15, false) }],
      [{ type: "committed", id: 2, stale: false }],
    ]);
    expect(steps).toEqual([
      ["ask 1 from 0"],
      ["ask 2 from 10", "commit 1"],
      [],
      ["commit 2"],
      ["finish restored"],
    ]);
    expect(session.done).toBe(true);
  });

  it("starts from a page a live hint carried, without a request", () => {
    const { steps } = run(true, [
      [{ type: "answered", id: 1, answer: page(11, false) }],
      [{ type: "committed", id: 1, stale: false }],
    ]);
    expect(steps).toEqual([["carried 1"], ["commit 1"], ["finish restored"]]);
  });

  it("asks nothing ahead once the epoch moved, or when it may not go on, and says there is more", () => {
    const reset = run(false, [
      [{ type: "answered", id: 1, answer: page(4, true, true) }],
      [{ type: "committed", id: 1, stale: false }],
    ]);
    expect(reset.steps).toEqual([["ask 1 from 0"], ["commit 1"], ["finish more"]]);
    const told = run(false, [
      [{ type: "answered", id: 1, answer: page(4, true) }],
      [{ type: "committed", id: 1, stale: false }, false],
    ]);
    expect(told.steps).toEqual([["ask 1 from 0"], ["ask 2 from 4", "commit 1"], ["finish more"]]);
  });

  it("fails with a failed page, and starts over after a page of an epoch the device has left", () => {
    expect(run(false, [[{ type: "answered", id: 1, answer: { ok: false } }]]).steps).toEqual([
      ["ask 1 from 0"],
      ["fail 1"],
    ]);
    const stale = run(false, [
      [{ type: "answered", id: 1, answer: page(4, true) }],
      [{ type: "committed", id: 1, stale: true }],
    ]);
    expect(stale.steps.at(-1)).toEqual(["finish more"]);
    // Done: nothing more happens, whatever comes.
    expect(
      stepPull(stale.session, { type: "answered", id: 2, answer: page(9, false) }, true).effects,
    ).toEqual([]);
  });
});
