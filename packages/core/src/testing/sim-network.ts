import { BehaviorSubject, Observable } from "rxjs";
import { HokanError } from "../errors.js";
import type { NetworkState } from "../policy.js";
import type { NetworkInfo, Transport } from "../ports.js";
import type { ManualRuntime } from "./manual-runtime.js";

/** How unreliable the simulated network is; probabilities per request. */
export interface Faults {
  /** The request never reaches the server. */
  readonly dropRequest: number;
  /** The server acts, but the answer is lost. */
  readonly dropResponse: number;
  /** The request reaches the server twice. */
  readonly duplicate: number;
  /** The live channel breaks (per event). */
  readonly breakLive: number;
  /** Delay of each leg, ms (uniform in the range); unequal delays reorder requests. */
  readonly delayMs: readonly [number, number];
}

/** A perfect network: no faults, a millisecond each way. */
export const NO_FAULTS: Faults = {
  dropRequest: 0,
  dropResponse: 0,
  duplicate: 0,
  breakLive: 0,
  delayMs: [1, 1],
};

/** A bad network: a request in ten lost each way, some duplicated, live channels breaking. */
export const BAD_NETWORK: Faults = {
  dropRequest: 0.1,
  dropResponse: 0.1,
  duplicate: 0.05,
  breakLive: 0.05,
  delayMs: [1, 80],
};

/** One simulated device's link: its network state (as its host reports it) and a faulty transport. */
export interface SimLink {
  readonly transport: Transport;
  readonly network: NetworkInfo;
  /** The device is online (a partition when false: every request fails at once). */
  setOnline(online: boolean): void;
  /**
   * Freezes the link as a NAT timeout or a Wi-Fi handover does, with the host still reporting it online: open live
   * channels carry nothing more, for good, and no error; requests made while frozen get no answer and fail with
   * `timeout` after `requestTimeoutMs` (as the HTTP transport's deadline does). `false` lets new requests and channels
   * through again; the channels frozen meanwhile stay dead.
   */
  setFrozen(frozen: boolean): void;
  setRoaming(roaming: boolean): void;
  readonly state: NetworkState;
}

/**
 * A simulated network between devices and a server, driven by a {@link ManualRuntime}: it delays, reorders, drops
 * (either leg), duplicates and partitions, all from the runtime's seeded PRNG, so a failing schedule replays exactly.
 */
export class SimNetwork {
  faults: Faults;
  /** How long a request on a frozen link waits for its answer before failing with `timeout` (the transport's deadline). */
  requestTimeoutMs = 10_000;
  /** Requests sent (probes among them), dropped and duplicated so far. */
  readonly stats = {
    requests: 0,
    droppedRequests: 0,
    droppedResponses: 0,
    duplicated: 0,
    liveBreaks: 0,
    /** Pushes and probes, counted in `requests` too. */
    pushes: 0,
    probes: 0,
  };

  constructor(
    private readonly runtime: ManualRuntime,
    faults: Faults = NO_FAULTS,
  ) {
    this.faults = faults;
  }

  /** Puts a device's transport behind this network. */
  link(server: Transport, initial: Partial<NetworkState> = {}): SimLink {
    const state$ = new BehaviorSubject<NetworkState>({ online: true, roaming: false, ...initial });
    const frozen = { now: false, epoch: 0 };
    const call = <T>(fn: () => Promise<T>): Promise<T> =>
      frozen.now ? this.hang<T>() : this.call(state$, fn, frozen);
    const transport: Transport = {
      pull: (r) => call(() => server.pull(r)),
      push: (r) => {
        this.stats.pushes++;
        return call(() => server.push(r));
      },
      catalog: () => call(() => server.catalog()),
      registry: (p) => call(() => server.registry(p)),
      deleteApp: (s, id) => call(() => server.deleteApp(s, id)),
      deleteAll: (id, platform) => call(() => server.deleteAll(id, platform)),
      live: (apps, options) => this.liveLink(state$, server.live(apps, options), frozen),
      probe: () => {
        this.stats.probes++;
        return call(() => server.probe?.() ?? Promise.resolve());
      },
    };
    return {
      transport,
      network: { state$: state$.asObservable() },
      setOnline: (online) => state$.next({ ...state$.value, online }),
      setRoaming: (roaming) => state$.next({ ...state$.value, roaming }),
      setFrozen: (on) => {
        if (on && !frozen.now) frozen.epoch++;
        frozen.now = on;
      },
      get state() {
        return state$.value;
      },
    };
  }

  private delay(): number {
    const [min, max] = this.faults.delayMs;
    return this.runtime.prng.int(min, max);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.runtime.setTimeout(resolve, ms));
  }

  private async call<T>(
    state$: BehaviorSubject<NetworkState>,
    fn: () => Promise<T>,
    frozen: { readonly now: boolean },
  ): Promise<T> {
    this.stats.requests++;
    const lost = (): HokanError => new HokanError("network", "simulated connection lost");
    if (!state$.value.online) throw lost();
    const prng = this.runtime.prng;
    await this.sleep(this.delay());
    if (!state$.value.online || prng.chance(this.faults.dropRequest)) {
      this.stats.droppedRequests++;
      await this.sleep(this.delay());
      throw lost();
    }
    if (prng.chance(this.faults.duplicate)) {
      this.stats.duplicated++;
      // The copy arrives a little later; its answer goes nowhere.
      this.runtime.setTimeout(() => void fn().catch(() => undefined), this.delay());
    }
    const result = await fn();
    await this.sleep(this.delay());
    // Frozen while the server acted: the answer never comes.
    if (frozen.now) return this.hang<T>();
    if (!state$.value.online || prng.chance(this.faults.dropResponse)) {
      this.stats.droppedResponses++;
      throw lost();
    }
    return result;
  }

  /** A request on a frozen link: no answer, until the transport's deadline. */
  private hang<T>(): Promise<T> {
    this.stats.requests++;
    return new Promise<T>((_, reject) =>
      this.runtime.setTimeout(
        () => reject(new HokanError("timeout", "simulated frozen connection: no answer")),
        this.requestTimeoutMs,
      ),
    );
  }

  private liveLink<T>(
    state$: BehaviorSubject<NetworkState>,
    source: Observable<T>,
    frozen: { readonly now: boolean; readonly epoch: number },
  ): Observable<T> {
    return new Observable<T>((subscriber) => {
      if (!state$.value.online) {
        subscriber.error(new HokanError("network", "simulated live channel down"));
        return;
      }
      // Opened while frozen: it never opens, and the transport gives up at its deadline.
      if (frozen.now) {
        const timer = this.runtime.setTimeout(
          () => subscriber.error(new HokanError("timeout", "simulated frozen connection: no answer")),
          this.requestTimeoutMs,
        );
        return () => this.runtime.clearTimeout(timer);
      }
      const openedIn = frozen.epoch;
      const offline = state$.subscribe((s) => {
        if (!s.online) subscriber.error(new HokanError("network", "simulated live channel down"));
      });
      const sub = source.subscribe((event) => {
        // A freeze since it opened: it carries nothing more, ever, and says nothing.
        if (frozen.epoch !== openedIn) return;
        if (this.runtime.prng.chance(this.faults.breakLive)) {
          this.stats.liveBreaks++;
          subscriber.error(new HokanError("network", "simulated live channel broke"));
          return;
        }
        this.runtime.setTimeout(() => subscriber.next(event), this.delay());
      });
      return () => {
        offline.unsubscribe();
        sub.unsubscribe();
      };
    });
  }
}
