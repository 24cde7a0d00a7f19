import type { Runtime } from "../runtime.js";

/**
 * The restore-before-write guard's state: closed until this device's first full restore (or a timeout), then open
 * for good. Reads and writes of the app's data wait on {@link wait} while it is closed.
 */
export class RestoreGate {
  private open: boolean;
  private waiting: Promise<void> | undefined;
  private release: (() => void) | undefined;
  private timer: unknown;

  constructor(
    private readonly timeoutMs: number | undefined,
    private readonly runtime: Pick<Runtime, "setTimeout" | "clearTimeout">,
    /** Told when writers start and stop waiting. */
    private readonly onWaiting: (waiting: boolean) => void,
  ) {
    this.open = timeoutMs === undefined;
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Resolves when the gate is open: at once, after the first restore, or after the timeout. */
  wait(): Promise<void> {
    if (this.open || this.timeoutMs === undefined) return Promise.resolve();
    if (!this.waiting) {
      this.waiting = new Promise<void>((resolve) => {
        this.release = resolve;
      });
      this.timer = this.runtime.setTimeout(() => this.openNow(), this.timeoutMs);
      this.onWaiting(true);
    }
    return this.waiting;
  }

  /** The first full restore is done (now, or in an earlier run): open for good. */
  openNow(): void {
    if (this.open) return;
    this.open = true;
    if (this.timer !== undefined) this.runtime.clearTimeout(this.timer);
    this.timer = undefined;
    this.release?.();
    this.onWaiting(false);
  }
}
