/** A timer handle as returned by {@link Runtime.setTimeout}. */
export type TimerHandle = unknown;

/**
 * The environment the engine runs in: time, timers, randomness and ids. Injected so that simulations are
 * deterministic and two engines in one process share nothing.
 */
export interface Runtime {
  /** Wall clock, ms since the Unix epoch. May be wrong by hours on a device: only the HLC relies on it, loosely. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  /** Uniform in [0, 1). */
  random(): number;
}

/** The real environment: `Date.now`, global timers and `Math.random`. */
export const systemRuntime: Runtime = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  random: () => Math.random(),
};

/** A random id of 16 hex characters (64 bits) from the runtime's randomness. */
export function randomId(runtime: Pick<Runtime, "random">): string {
  let out = "";
  for (let i = 0; i < 4; i++) {
    out += Math.floor(runtime.random() * 0x10000)
      .toString(16)
      .padStart(4, "0");
  }
  return out;
}
