import type { Observable, Subscription } from "rxjs";
import type { LiveEvent } from "../protocol.js";
import type { Runtime } from "../runtime.js";
import { type BackoffOptions, backoffDelay } from "./machine.js";

/** What a {@link LiveChannel} tells its owner. */
export interface LiveHandlers {
  /** A hint arrived. */
  readonly event: (event: LiveEvent) => void;
  /** The channel opened again after being down: whatever happened meanwhile must be pulled. */
  readonly reopened: () => void;
}

/**
 * Keeps one live channel open while wanted: reopens it with backoff after it drops, and says when it reopened so the
 * owner catches up from its checkpoint (hints sent while it was down are gone).
 */
export class LiveChannel {
  private subscription: Subscription | undefined;
  private timer: unknown;
  private attempt = 0;
  private wasDown = false;
  private wanted = false;

  constructor(
    private readonly open: () => Observable<LiveEvent>,
    private readonly runtime: Runtime,
    private readonly backoff: BackoffOptions,
    private readonly handlers: LiveHandlers,
  ) {}

  /** Opens the channel if it should be open and is not, closes it if it should not be. */
  want(wanted: boolean): void {
    this.wanted = wanted;
    if (!wanted) this.close();
    else if (!this.subscription && this.timer === undefined) this.connect();
  }

  /**
   * Opens an open channel again (what it opens with changed, as the app's version after an update); the owner is
   * told it reopened, so it catches up. A channel that is not open opens with what is current anyway.
   */
  renew(): void {
    if (!this.subscription) return;
    this.close();
    this.want(true);
  }

  /** Closes the channel and cancels any reopening. */
  close(): void {
    this.wanted = false;
    if (this.subscription) this.wasDown = true;
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    if (this.timer !== undefined) this.runtime.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private connect(): void {
    let ended = false;
    const end = (): void => {
      ended = true;
      this.dropped();
    };
    const subscription = this.open().subscribe({
      next: (event) => {
        this.attempt = 0;
        this.handlers.event(event);
      },
      error: end,
      complete: end,
    });
    // A channel that failed while subscribing has already scheduled its reopening.
    if (ended) return;
    this.subscription = subscription;
    if (this.wasDown) {
      this.wasDown = false;
      queueMicrotask(() => this.handlers.reopened());
    }
  }

  private dropped(): void {
    this.subscription = undefined;
    this.wasDown = true;
    if (!this.wanted) return;
    this.attempt++;
    this.timer = this.runtime.setTimeout(
      () => {
        this.timer = undefined;
        if (this.wanted) this.connect();
      },
      backoffDelay(this.attempt, () => this.runtime.random(), this.backoff),
    );
  }
}
