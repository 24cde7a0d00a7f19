import type { Runtime } from "../runtime.js";
import type { WaitOptions } from "./api.js";

interface Waiter {
  readonly done: () => boolean;
  readonly finish: (done: boolean) => void;
}

/**
 * Promises that wait for a condition on a replication (it rests; a sync ended), checked whenever its status may have
 * changed, with a timeout on the replication's runtime clock and an `AbortSignal`.
 */
export class Waiters {
  private readonly waiting = new Set<Waiter>();

  constructor(private readonly runtime: Pick<Runtime, "setTimeout" | "clearTimeout">) {}

  /**
   * Resolves `true` once `done()` holds, `false` when `timeoutMs` passes first; rejects with the signal's reason when
   * `signal` aborts first.
   */
  wait(done: () => boolean, options: WaitOptions = {}): Promise<boolean> {
    const { timeoutMs, signal } = options;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (done()) return Promise.resolve(true);
    return new Promise<boolean>((resolve, reject) => {
      let timer: unknown;
      const cleanup = () => {
        this.waiting.delete(waiter);
        if (timer !== undefined) this.runtime.clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      const waiter: Waiter = {
        done,
        finish: (ok) => {
          cleanup();
          resolve(ok);
        },
      };
      const onAbort = () => {
        cleanup();
        reject(abortReason(signal as AbortSignal));
      };
      this.waiting.add(waiter);
      if (timeoutMs !== undefined) timer = this.runtime.setTimeout(() => waiter.finish(false), timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Ends every wait whose condition holds now. */
  check(): void {
    for (const w of [...this.waiting]) if (w.done()) w.finish(true);
  }
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("The wait was aborted", "AbortError");
}
