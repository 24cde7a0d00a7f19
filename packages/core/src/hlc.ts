/**
 * Hybrid logical clock.
 *
 * @remarks
 * A timestamp is `wall` (ms) + `counter` + `node`, encoded as a string that sorts lexicographically in time order.
 * `tick()` for a local event returns a time greater than every time this clock has produced or received, so an edit
 * made after seeing another device's edit always sorts after it, even when this device's wall clock is hours behind.
 */
export interface HlcTime {
  readonly wall: number;
  readonly counter: number;
  readonly node: string;
}

const WALL_DIGITS = 15;
const COUNTER_DIGITS = 6;

/** Encodes a time as a sortable string: `wall:counter:node`, zero-padded. */
export function encodeHlc(t: HlcTime): string {
  return `${t.wall.toString().padStart(WALL_DIGITS, "0")}:${t.counter.toString().padStart(COUNTER_DIGITS, "0")}:${t.node}`;
}

/** Decodes {@link encodeHlc}'s output; throws on anything else. */
export function decodeHlc(s: string): HlcTime {
  const [wall, counter, ...node] = s.split(":");
  const w = Number(wall);
  const c = Number(counter);
  if (!Number.isSafeInteger(w) || !Number.isSafeInteger(c) || node.length === 0) {
    throw new TypeError(`not a hybrid logical clock time: ${JSON.stringify(s)}`);
  }
  return { wall: w, counter: c, node: node.join(":") };
}

/** Orders two encoded times: negative, zero or positive. */
export function compareHlc(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The initial time: sorts before every real time. */
export const HLC_ZERO = encodeHlc({ wall: 0, counter: 0, node: "" });

/** How far ahead of this clock's wall time a received time may be before it is treated as a faulty clock. */
export const DEFAULT_MAX_DRIFT_MS = 60_000;

/**
 * A hybrid logical clock for one node (device).
 *
 * @remarks
 * Give it a wall clock corrected by the server's time (see `SyncState.clockOffset`): then a device whose own clock
 * is hours off still stamps its edits with about the real time, and a genuinely later edit elsewhere beats it.
 * A received time further ahead than `maxDriftMs` counts as only that far ahead, so one faulty clock cannot drag
 * every device's clock into the future.
 */
export class HybridLogicalClock {
  private last: HlcTime;

  constructor(
    private readonly node: string,
    private readonly wallClock: () => number,
    last: string = HLC_ZERO,
    private readonly maxDriftMs: number = DEFAULT_MAX_DRIFT_MS,
  ) {
    this.last = decodeHlc(last);
  }

  /**
   * Brings a clock that ran ahead of the (corrected) wall clock by more than the allowed drift back to it: a device
   * that learned its clock was wrong stops stamping the future.
   */
  rebase(): void {
    const wall = this.wallClock();
    if (this.last.wall > wall + this.maxDriftMs) this.last = { wall, counter: 0, node: this.node };
  }

  /** A new time for a local event. */
  tick(): string {
    const wall = this.wallClock();
    this.last =
      wall > this.last.wall
        ? { wall, counter: 0, node: this.node }
        : { wall: this.last.wall, counter: this.last.counter + 1, node: this.node };
    return encodeHlc(this.last);
  }

  /** Takes in a time seen from another node, so later local times sort after it. */
  receive(remote: string): void {
    const decoded = decodeHlc(remote);
    const limit = this.wallClock() + this.maxDriftMs;
    const r = decoded.wall > limit ? { ...decoded, wall: limit } : decoded;
    if (r.wall > this.last.wall || (r.wall === this.last.wall && r.counter > this.last.counter)) {
      this.last = { wall: r.wall, counter: r.counter, node: this.node };
    }
  }

  /** The latest time produced or received (persist it to keep the order across restarts). */
  get current(): string {
    return encodeHlc(this.last);
  }
}
