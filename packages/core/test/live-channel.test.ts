import { Observable, type Subscriber } from "rxjs";
import { describe, expect, it } from "vitest";
import type { LiveEvent } from "../src/index.js";
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

const hint: LiveEvent = { type: "changed", appId: "a", epoch: 1, seq: 3 };

describe("LiveChannel", () => {
  it("passes hints on, reopens after a drop with growing pauses, and asks for a catch-up once reopened", async () => {
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
    expect(reopened).toBe(1);
    src.subscribers[1]?.complete();
    src.subscribers.length = 0;
    await runtime.advance(10_000);
    expect(src.opened()).toBe(3);
    channel.close();
    expect(runtime.pendingTimers).toBe(0);
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
    expect(reopened).toBe(1);
    expect(runtime.pendingTimers).toBe(0);
    channel.close();
  });
});
