import { Observable, type Subscriber } from "rxjs";
import { describe, expect, it } from "vitest";
import { LIVE_RECONNECT_SPREAD_MS, type LiveEvent } from "../src/index.js";
import { LiveChannel } from "../src/replication/live-channel.js";
import { ManualRuntime } from "../src/testing/index.js";

function source() {
  const subscribers: Subscriber<LiveEvent>[] = [];
  let opened = 0;
  const open = () =>
    new Observable<LiveEvent>((s) => {
      opened++;
      subscribers.push(s);
    });
  return { open, subscribers, opened: () => opened };
}

/** A wanted channel on a fresh source and a manual clock, whose server said `open` with `heartbeatMs`. */
function opened(baseMs: number, heartbeatMs: number) {
  const runtime = new ManualRuntime();
  const src = source();
  const counts = { reopened: 0 };
  const channel = new LiveChannel(
    src.open,
    runtime,
    { baseMs, maxMs: 60_000 },
    { event: () => undefined, reopened: () => counts.reopened++ },
  );
  channel.want(true);
  src.subscribers[0]?.next({ type: "open", heartbeatMs });
  return { runtime, src, channel, counts };
}

const hint: LiveEvent = { type: "changed", appId: "a", epoch: 1, seq: 3 };

describe("LiveChannel", () => {
  it("passes hints on, reopens after a drop with growing pauses, and asks for a catch-up once the server listens", async () => {
    const runtime = new ManualRuntime();
    const src = source();
    const events: LiveEvent[] = [];
    let reopened = 0;
    const channel = new LiveChannel(
      src.open,
      runtime,
      { baseMs: 1000, maxMs: 8000 },
      {
        event: (e) => events.push(e),
        reopened: () => reopened++,
      },
    );
    channel.want(true);
    src.subscribers[0]?.next(hint);
    expect(events).toEqual([hint]);
    src.subscribers[0]?.error(new Error("dropped"));
    await runtime.advance(400);
    expect(src.opened()).toBe(1);
    await runtime.advance(600);
    expect(src.opened()).toBe(2);
    // Not before the reopened channel says its first word: the server hears the account's changes from then on, and
    // a catch-up pull made before it would miss a change made in between.
    expect(reopened).toBe(0);
    src.subscribers[1]?.next({ type: "open", heartbeatMs: 15_000 });
    await runtime.advance(0);
    expect(reopened).toBe(1);
    src.subscribers[1]?.complete();
    src.subscribers.length = 0;
    await runtime.advance(10_000);
    expect(src.opened()).toBe(3);
    channel.close();
    expect(runtime.pendingTimers).toBe(0);
  });

  it("reopens at once, within the spread, a channel its server ended with reconnect; a failed one backs off", async () => {
    const { runtime, src, channel, counts } = opened(2000, 15_000);
    // Two failures in a row: the next try would wait a backoff of seconds.
    src.subscribers[0]?.error(new Error("dropped"));
    await runtime.advance(15_000);
    src.subscribers[1]?.error(new Error("dropped"));
    await runtime.advance(15_000);
    expect(src.opened()).toBe(3);
    // The server stops: it says so, then ends the stream.
    src.subscribers[2]?.next({ type: "reconnect" });
    src.subscribers[2]?.complete();
    await runtime.advance(LIVE_RECONNECT_SPREAD_MS);
    expect(src.opened()).toBe(4);
    // The openings that failed said nothing: none of them was a catch-up's moment.
    expect(counts.reopened).toBe(0);
    // A reconnect followed by more words (a long poll goes on) is forgotten: the next failure backs off again.
    src.subscribers[3]?.next({ type: "reconnect" });
    src.subscribers[3]?.next({ type: "beat" });
    src.subscribers[3]?.error(new Error("dropped"));
    await runtime.advance(LIVE_RECONNECT_SPREAD_MS);
    expect(src.opened()).toBe(4);
    await runtime.advance(15_000);
    expect(src.opened()).toBe(5);
    channel.close();
  });

  it("does not reopen a channel nobody wants, and cancels a pending reopening", async () => {
    const runtime = new ManualRuntime();
    const src = source();
    const channel = new LiveChannel(
      src.open,
      runtime,
      { baseMs: 1000, maxMs: 8000 },
      {
        event: () => undefined,
        reopened: () => undefined,
      },
    );
    channel.want(true);
    channel.want(true);
    expect(src.opened()).toBe(1);
    src.subscribers[0]?.error(new Error("dropped"));
    expect(runtime.pendingTimers).toBe(1);
    channel.want(false);
    expect(runtime.pendingTimers).toBe(0);
    await runtime.advance(60_000);
    expect(src.opened()).toBe(1);
  });

  it("copes with a channel that fails while subscribing", async () => {
    const runtime = new ManualRuntime();
    let attempts = 0;
    const failing = () =>
      new Observable<LiveEvent>((s) => {
        attempts++;
        if (attempts < 3) s.error(new Error("refused"));
      });
    let reopened = 0;
    const channel = new LiveChannel(
      failing,
      runtime,
      { baseMs: 100, maxMs: 100 },
      {
        event: () => undefined,
        reopened: () => reopened++,
      },
    );
    channel.want(true);
    await runtime.advance(1000);
    expect(attempts).toBe(3);
    expect(reopened).toBe(0);
    expect(runtime.pendingTimers).toBe(0);
    channel.close();
  });

  it("gives a channel up after 2.5 silent heartbeat intervals, and reopens it within one interval", async () => {
    const { runtime, src, channel, counts } = opened(500, 1000);
    // Beats keep it.
    for (let i = 0; i < 5; i++) {
      await runtime.advance(1000);
      src.subscribers[0]?.next({ type: "beat" });
    }
    expect(src.opened()).toBe(1);
    // Then nothing, and no error: a frozen connection.
    await runtime.advance(2_499);
    expect(src.opened()).toBe(1);
    await runtime.advance(1);
    expect(src.subscribers[0]?.closed).toBe(true);
    // Reopened after at most one interval, however many tries failed before.
    await runtime.advance(1_000);
    expect(src.opened()).toBe(2);
    expect(counts.reopened).toBe(0);
    for (let i = 0; i < 6; i++) {
      src.subscribers.at(-1)?.error(new Error("refused"));
      const before = src.opened();
      await runtime.advance(1_000);
      expect(src.opened()).toBe(before + 1);
    }
    // The one that opens asks for the catch-up, once.
    src.subscribers.at(-1)?.next({ type: "open", heartbeatMs: 1000 });
    src.subscribers.at(-1)?.next({ type: "beat" });
    await runtime.advance(0);
    expect(counts.reopened).toBe(1);
    channel.close();
    expect(runtime.pendingTimers).toBe(0);
  });

  it("takes no signal for a hint, and watches nothing before a heartbeat is announced", async () => {
    const runtime = new ManualRuntime();
    const src = source();
    const events: LiveEvent[] = [];
    const channel = new LiveChannel(
      src.open,
      runtime,
      { baseMs: 500, maxMs: 60_000 },
      { event: (e) => events.push(e), reopened: () => undefined },
    );
    channel.want(true);
    await runtime.advance(600_000);
    expect(src.opened()).toBe(1);
    src.subscribers[0]?.next({ type: "beat" });
    src.subscribers[0]?.next(hint);
    expect(events).toEqual([hint]);
    channel.close();
  });

  it("tries again at once when the server was reached another way, also in place of an opening that hangs", async () => {
    const runtime = new ManualRuntime();
    const src = source();
    let reopened = 0;
    let answered = 0;
    const channel = new LiveChannel(
      src.open,
      runtime,
      { baseMs: 30_000, maxMs: 60_000 },
      { event: () => undefined, reopened: () => reopened++, answered: () => answered++ },
    );
    channel.want(true);
    src.subscribers[0]?.error(new Error("refused"));
    expect(src.opened()).toBe(1);
    channel.retryNow();
    expect(src.opened()).toBe(2);
    // Opening, and nothing heard yet: it may hang on a frozen connection.
    channel.retryNow();
    expect(src.opened()).toBe(3);
    expect(src.subscribers[1]?.closed).toBe(true);
    src.subscribers[2]?.next({ type: "open", heartbeatMs: 15_000 });
    // An open channel is left alone.
    channel.retryNow();
    expect(src.opened()).toBe(3);
    src.subscribers[2]?.next({ type: "beat" });
    await runtime.advance(1);
    // The opening that spoke asks for the catch-up; its first word says the server answered.
    expect(reopened).toBe(1);
    expect(answered).toBe(1);
    channel.close();
  });
});
