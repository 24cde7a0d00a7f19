import { type Runtime, randomId, systemRuntime } from "@hokan/core";
import { BehaviorSubject, distinctUntilChanged, type Observable } from "rxjs";

/** Options of {@link electLeader}. */
export interface LeaderElectionOptions {
  /** What is being led, e.g. `hokan:<database name>`: the tabs of an origin that share it elect one leader. */
  readonly name: string;
  /** Web Locks (default `navigator.locks` where present); `null` forces the BroadcastChannel fallback. */
  readonly locks?: LockManager | null;
  /** BroadcastChannel (default the global one); `null` when the context has none (then it leads alone). */
  readonly BroadcastChannel?: typeof BroadcastChannel | null;
  readonly runtime?: Runtime;
  /** How often the leader says it is alive (default 1 s). */
  readonly heartbeatMs?: number;
  /** Silence after which a leader counts as frozen or gone and is replaced (default 5 s). */
  readonly staleMs?: number;
}

/** One tab's view of the election. */
export interface LeaderElection {
  /** Whether this tab is the leader now, and every change. */
  readonly isLeader$: Observable<boolean>;
  readonly isLeader: boolean;
  /** Leaves the election (gives up leadership if held). */
  close(): void;
}

type Message = { readonly type: "alive" | "claim"; readonly id: string };

/**
 * Elects one tab of an origin to replicate; the others still write locally (the store is shared) and see status.
 *
 * @remarks
 * With Web Locks, the leader holds an exclusive lock for as long as it lives; a closed tab releases it at once. A
 * frozen tab keeps its lock but stops sending heartbeats on a BroadcastChannel, so after `staleMs` of silence a
 * waiting tab steals the lock. Without Web Locks, tabs claim leadership over the BroadcastChannel, and two leaders
 * that hear each other settle on the lower id.
 *
 * @example
 * ```ts
 * const election = electLeader({ name: "hokan:default" });
 * election.isLeader$.subscribe((leader) => (leader ? replication.start() : replication.stop()));
 * ```
 */
export function electLeader(options: LeaderElectionOptions): LeaderElection {
  return new Election(options);
}

class Election implements LeaderElection {
  private readonly id: string;
  private readonly runtime: Runtime;
  private readonly leader = new BehaviorSubject(false);
  private readonly channel: BroadcastChannel | undefined;
  private readonly locks: LockManager | undefined;
  private readonly heartbeatMs: number;
  private readonly staleMs: number;
  private lastHeard: number;
  private heartbeat: unknown;
  private watchdog: unknown;
  private releaseLock: (() => void) | undefined;
  private abort: AbortController | undefined;
  private closed = false;
  private claiming: unknown;

  constructor(private readonly options: LeaderElectionOptions) {
    this.runtime = options.runtime ?? systemRuntime;
    this.id = randomId(this.runtime);
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.staleMs = options.staleMs ?? 5000;
    this.lastHeard = this.runtime.now();
    const Channel =
      options.BroadcastChannel === undefined ? globalThis.BroadcastChannel : options.BroadcastChannel;
    this.channel = Channel ? new Channel(`${options.name}:leader`) : undefined;
    const locks = options.locks === undefined ? globalThis.navigator?.locks : options.locks;
    this.locks = locks ?? undefined;
    if (this.channel) this.channel.onmessage = (e: MessageEvent<Message>) => this.onMessage(e.data);
    if (!this.channel && !this.locks) {
      this.leader.next(true); // alone in this context: nobody else to share with
      return;
    }
    if (this.locks) this.queueForLock(false);
    this.watch();
  }

  get isLeader$(): Observable<boolean> {
    return this.leader.pipe(distinctUntilChanged());
  }

  get isLeader(): boolean {
    return this.leader.value;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopTimers();
    this.abort?.abort();
    this.releaseLock?.();
    this.channel?.close();
    this.leader.next(false);
    this.leader.complete();
  }

  // ---- Web Locks

  private queueForLock(steal: boolean): void {
    if (this.closed || !this.locks) return;
    this.abort?.abort();
    const abort = new AbortController();
    this.abort = abort;
    const held = new Promise<void>((resolve) => {
      this.releaseLock = resolve;
    });
    const request = steal
      ? this.locks.request(this.options.name, { steal: true }, () => this.lead(held))
      : this.locks.request(this.options.name, { signal: abort.signal }, () => this.lead(held));
    request.then(
      () => this.follow(),
      () => {
        // Stolen by a tab that thought this one frozen, or our own abort: wait for the lock again.
        this.follow();
        if (!this.closed && !abort.signal.aborted) this.queueForLock(false);
      },
    );
  }

  private lead(held: Promise<void>): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.becomeLeader();
    return held;
  }

  // ---- both modes

  private becomeLeader(): void {
    this.leader.next(true);
    this.send("alive");
    this.stopTimers();
    const beat = (): void => {
      this.send("alive");
      this.heartbeat = this.runtime.setTimeout(beat, this.heartbeatMs);
    };
    this.heartbeat = this.runtime.setTimeout(beat, this.heartbeatMs);
  }

  private follow(): void {
    if (this.closed) return;
    if (this.leader.value) this.leader.next(false);
    this.stopTimers();
    this.lastHeard = this.runtime.now();
    this.watch();
  }

  /** A follower checks that the leader still speaks; silence means it is gone or frozen. */
  private watch(): void {
    if (this.closed || this.leader.value) return;
    this.watchdog = this.runtime.setTimeout(() => {
      this.watchdog = undefined;
      if (this.closed || this.leader.value) return;
      if (this.runtime.now() - this.lastHeard < this.staleMs) {
        this.watch();
        return;
      }
      if (this.locks) {
        if (this.channel)
          this.queueForLock(true); // only a heartbeat can tell a frozen holder from a live one
        else this.watch();
      } else {
        this.claim();
      }
    }, this.heartbeatMs);
  }

  /** Fallback without Web Locks: announce a claim, and lead unless a leader or a lower claim answers in time. */
  private claim(): void {
    this.send("claim");
    const claimedAt = this.runtime.now();
    this.claiming = this.runtime.setTimeout(() => {
      this.claiming = undefined;
      if (this.closed) return;
      if (this.lastHeard > claimedAt) this.watch();
      else this.becomeLeader();
    }, this.heartbeatMs * 2);
  }

  private onMessage(message: Message): void {
    if (this.closed || message.id === this.id) return;
    if (message.type === "alive") {
      this.lastHeard = this.runtime.now();
      // Two leaders without Web Locks (a partition healed): the lower id keeps it.
      if (!this.locks && this.leader.value && message.id < this.id) this.follow();
    } else if (message.type === "claim") {
      if (this.leader.value) this.send("alive");
      else if (message.id < this.id) this.lastHeard = this.runtime.now();
    }
  }

  private send(type: Message["type"]): void {
    this.channel?.postMessage({ type, id: this.id } satisfies Message);
  }

  private stopTimers(): void {
    for (const t of [this.heartbeat, this.watchdog, this.claiming])
      if (t !== undefined) this.runtime.clearTimeout(t);
    this.heartbeat = this.watchdog = this.claiming = undefined;
  }
}
