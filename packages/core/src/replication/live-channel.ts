import type { Observable, Subscription } from "rxjs";
import {
  isLiveHint,
  LIVE_GIVE_UP_BEATS,
  LIVE_RECONNECT_SPREAD_MS,
  type LiveEvent,
  type LiveHint,
} from "../protocol.js";
import type { Runtime } from "../runtime.js";
import { type BackoffOptions, backoffDelay } from "./machine.js";

/** What a live channel tells its owner (a replication, or a member of a `SharedLiveChannel`). */
export interface LiveHandlers {
  /** A hint arrived. */
  readonly event: (event: LiveHint) => void;
  /**
   * The channel opened again after being down and said its first word (the server says `open` once it hears the
   * account's changes): whatever happened meanwhile must be pulled. Told no earlier, or a change made between the
   * catch-up pull and the server listening would be neither pulled nor hinted.
   */
  readonly reopened: () => void;
  /** A channel just (re)opened said its first word: the server can be reached. */
  readonly answered?: () => void;
  /** The channel dropped (it will be reopened while wanted). */
  readonly dropped?: () => void;
}

/**
 * Keeps one live channel open while wanted: reopens it with backoff after it drops, and says when it reopened so the
 * owner catches up from its checkpoint (hints sent while it was down are gone).
 *
 * A channel that announced its heartbeat (`open`) and then stays silent for {@link LIVE_GIVE_UP_BEATS} intervals is
 * taken for dead and reopened: a connection frozen by a NAT timeout or a Wi-Fi handover reports no error, ever.
 * Reopening waits at most one heartbeat interval, so a device is back within about one interval of the network.
 */
export class LiveChannel {
  private subscription: Subscription | undefined;
  private timer: unknown;
  private watchdog: unknown;
  private attempt = 0;
  private wasDown = false;
  private wanted = false;
  /** The server's heartbeat interval, once a channel announced it. */
  private heartbeatMs: number | undefined;
  /** The open channel said something (it did open). */
  private heardSinceOpen = false;
  /** Connections opened so far: which one a deferred `answered` belongs to. */
  private connections = 0;
  /** The last word of the channel was the server's `reconnect`: when it ends, it is reopened at once. */
  private goingAway = false;

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

  /**
   * The server was just reached another way: a channel waiting to reopen tries now, and one still opening (it may hang
   * on a connection frozen before) starts again.
   */
  retryNow(): void {
    if (!this.wanted) return;
    if (this.subscription && !this.heardSinceOpen) {
      this.subscription.unsubscribe();
      this.subscription = undefined;
      this.wasDown = true;
    }
    if (this.subscription) return;
    if (this.timer !== undefined) this.runtime.clearTimeout(this.timer);
    this.timer = undefined;
    this.connect();
  }

  /** Closes the channel and cancels any reopening. */
  close(): void {
    this.wanted = false;
    if (this.subscription) this.wasDown = true;
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    this.disarm();
    if (this.timer !== undefined) this.runtime.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private connect(): void {
    this.heardSinceOpen = false;
    this.connections++;
    let ended = false;
    const end = (): void => {
      ended = true;
      this.disarm();
      this.dropped();
    };
    const subscription = this.open().subscribe({
      next: (event) => this.heard(event),
      error: end,
      complete: end,
    });
    // A channel that failed while subscribing has already scheduled its reopening.
    if (ended) return;
    this.subscription = subscription;
  }

  private heard(event: LiveEvent): void {
    if (!this.heardSinceOpen) {
      this.heardSinceOpen = true;
      // Not from inside subscribe(): the owner may act on the channel. Not at all if this connection dropped by then
      // (its drop marked the channel down again, so the next one catches up).
      const { answered, reopened } = this.handlers;
      const caughtUp = this.wasDown;
      this.wasDown = false;
      const connection = this.connections;
      queueMicrotask(() => {
        if (!this.subscription || this.connections !== connection) return;
        if (caughtUp) reopened();
        answered?.();
      });
    }
    this.goingAway = event.type === "reconnect";
    if (event.type === "open") {
      if (Number.isFinite(event.heartbeatMs) && event.heartbeatMs > 0) this.heartbeatMs = event.heartbeatMs;
    } else {
      // Only a channel that carries something counts as working: one that opens and drops at once backs off.
      this.attempt = 0;
    }
    this.arm();
    if (isLiveHint(event)) this.handlers.event(event);
  }

  /** Gives the channel {@link LIVE_GIVE_UP_BEATS} heartbeat intervals to say something. */
  private arm(): void {
    if (this.heartbeatMs === undefined) return;
    this.disarm();
    this.watchdog = this.runtime.setTimeout(() => {
      this.watchdog = undefined;
      if (!this.subscription) return;
      this.subscription.unsubscribe();
      this.dropped();
    }, this.heartbeatMs * LIVE_GIVE_UP_BEATS);
  }

  private disarm(): void {
    if (this.watchdog !== undefined) this.runtime.clearTimeout(this.watchdog);
    this.watchdog = undefined;
  }

  private dropped(): void {
    this.subscription = undefined;
    this.wasDown = true;
    this.handlers.dropped?.();
    if (!this.wanted) return;
    // Never longer than a heartbeat interval between tries: the channel is how a device hears of other devices.
    const cap = Math.min(this.backoff.maxMs, this.heartbeatMs ?? this.backoff.maxMs);
    let delay: number;
    if (this.goingAway) {
      // Ended on purpose by a server going away, not failed: at once, spread so that a stopping process's clients do
      // not reach the others all in one instant.
      this.goingAway = false;
      this.attempt = 0;
      delay = this.runtime.random() * Math.min(LIVE_RECONNECT_SPREAD_MS, cap);
    } else {
      this.attempt++;
      delay = backoffDelay(this.attempt, () => this.runtime.random(), { ...this.backoff, maxMs: cap });
    }
    this.timer = this.runtime.setTimeout(() => {
      this.timer = undefined;
      if (this.wanted) this.connect();
    }, delay);
  }
}
