import type { Runtime, TimerHandle } from "../runtime.js";
import { Prng } from "./prng.js";

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/** Runs `fn` on a later macrotask: Node's `setImmediate`, or a message to itself where there is none (browsers). */
const nextMacrotask: (fn: () => void) => void =
  typeof setImmediate === "function"
    ? (fn) => setImmediate(fn)
    : (fn) => {
        const channel = new MessageChannel();
        channel.port1.onmessage = () => {
          channel.port1.close();
          fn();
        };
        channel.port2.postMessage(null);
      };

/** Lets every pending promise callback run (a macrotask turn drains the microtask queue). */
export function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => nextMacrotask(resolve));
}

/**
 * A runtime whose time only moves when told: timers fire in time order as the clock is advanced, and randomness
 * comes from a seeded PRNG. Several devices can share one (a shared "real" time) while each device's wall clock
 * is skewed through {@link skewed}.
 */
export class ManualRuntime implements Runtime {
  private time: number;
  private readonly timers = new Map<number, Timer>();
  private nextId = 1;
  readonly prng: Prng;

  constructor(options: { start?: number; seed?: number } = {}) {
    this.time = options.start ?? Date.UTC(2026, 10, 25, 0, 0, 0);
    this.prng = new Prng(options.seed ?? 1);
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { id, at: this.time + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as number);
  }

  random(): number {
    return this.prng.next();
  }

  /** When the next timer fires, if any. */
  get nextTimerAt(): number | undefined {
    let at: number | undefined;
    for (const t of this.timers.values()) if (at === undefined || t.at < at) at = t.at;
    return at;
  }

  /** Timers not yet fired. */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /** A runtime sharing these timers and this randomness, whose wall clock is off by `offsetMs`. */
  skewed(offsetMs: number): Runtime {
    return {
      now: () => this.time + offsetMs,
      setTimeout: (fn, ms) => this.setTimeout(fn, ms),
      clearTimeout: (h) => this.clearTimeout(h),
      random: () => this.random(),
    };
  }

  /** Moves time forward by `ms`, firing due timers in order and letting promises settle after each. */
  async advance(ms: number): Promise<void> {
    const until = this.time + ms;
    await flushMicrotasks();
    for (;;) {
      const due = this.nextDue(until);
      if (due === undefined) break;
      this.timers.delete(due.id);
      this.time = Math.max(this.time, due.at);
      due.fn();
      await flushMicrotasks();
    }
    this.time = until;
    await flushMicrotasks();
  }

  /**
   * Advances in steps until `done()` holds, or fails after `maxMs` of simulated time: the way a simulation waits for
   * quiescence without trusting any single promise.
   */
  async runUntil(done: () => boolean, options: { stepMs?: number; maxMs?: number } = {}): Promise<void> {
    const step = options.stepMs ?? 50;
    const max = options.maxMs ?? 600_000;
    let spent = 0;
    await flushMicrotasks();
    while (!done()) {
      if (spent >= max) throw new Error(`simulation did not settle within ${max} ms of simulated time`);
      // Jump straight to the next timer when it is further than a step away: nothing happens in between.
      const next = this.nextTimerAt;
      const ms = next === undefined ? step : Math.max(step, next - this.time);
      await this.advance(ms);
      spent += ms;
    }
  }

  private nextDue(until: number): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.timers.values()) {
      if (t.at <= until && (best === undefined || t.at < best.at || (t.at === best.at && t.id < best.id)))
        best = t;
    }
    return best;
  }
}
