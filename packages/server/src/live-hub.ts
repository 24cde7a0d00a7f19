import { type AppScope, type LiveHint, withoutDocuments } from "@hokan/core";
import type { LiveNotice } from "./backup-store.js";
import type { LiveBus } from "./bus.js";

interface Listener {
  readonly account: string;
  /** The apps of the connection, each with the scope it said it runs as (`undefined`: it did not say). */
  readonly apps: ReadonlyMap<string, AppScope | undefined>;
  readonly send: (event: LiveHint) => void;
  readonly end: () => void;
  /** Also every other app of the account (the catalog's hints, without documents): all, or the token's apps. */
  readonly catalog: boolean | readonly string[];
}

/**
 * Fans the bus's notices out to this process's live connections: a change committed through any server process of
 * the fleet reaches every live client of the account.
 */
export class LiveHub {
  /** By account: a notice and the per-account limit look at one account's connections, not the process's. */
  private readonly listeners = new Map<string, Set<Listener>>();
  private count = 0;
  private bus: LiveBus | undefined;

  /** `judge` makes a hint what one connection may receive (core's `liveEventFor` against the registry). */
  constructor(
    readonly judge: (event: LiveHint, scope: AppScope | undefined) => LiveHint,
    /** Told, for each notice received, the seconds since its sender sent it (metrics). */
    private readonly onLag?: (seconds: number) => void,
  ) {}

  /** Starts receiving the fleet's notices from `bus`, which this hub then closes. */
  async start(bus: LiveBus): Promise<void> {
    this.bus = bus;
    await bus.start(
      (payload) => this.deliver(payload),
      () => this.resync(),
    );
  }

  /**
   * Resolves once the notices of `account` reach this process (at once on PostgreSQL; on a bus that routes by account,
   * when its subscription is in place): a channel says `open`, and a poll reads the heads, only after it.
   */
  ready(account: string): Promise<void> {
    return this.bus?.ready(account) ?? Promise.resolve();
  }

  /**
   * Ends every live connection after notices may have been lost (the database connection this process listened on
   * was lost and is back): each client opens its channel again and catches up from its checkpoint, as after any drop.
   */
  resync(): void {
    this.endAll();
  }

  /** Ends every live connection of this process (a stream ends, a long poll is answered). */
  endAll(): void {
    const all = [...this.listeners.values()].flatMap((set) => [...set]);
    this.listeners.clear();
    this.count = 0;
    // Their removal finds them gone and unwatches nothing: it is done here, once per connection.
    for (const l of all) this.bus?.unwatch(l.account);
    for (const l of all) l.end();
  }

  /** Adds a connection (`end` closes it); returns the function that removes it. */
  add(
    account: string,
    apps: ReadonlyMap<string, AppScope | undefined>,
    send: (event: LiveHint) => void,
    end: () => void,
    catalog: boolean | readonly string[] = false,
  ): () => void {
    const listener: Listener = { account, apps, send, end, catalog };
    let set = this.listeners.get(account);
    if (!set) {
      set = new Set();
      this.listeners.set(account, set);
    }
    set.add(listener);
    this.count++;
    const bus = this.bus;
    void bus?.watch(account);
    return () => {
      const of = this.listeners.get(account);
      if (!of?.delete(listener)) return;
      this.count--;
      bus?.unwatch(account);
      if (of.size === 0) this.listeners.delete(account);
    };
  }

  get connections(): number {
    return this.count;
  }

  /** Live connections of one account on this process. */
  connectionsOf(account: string): number {
    return this.listeners.get(account)?.size ?? 0;
  }

  async close(): Promise<void> {
    this.listeners.clear();
    this.count = 0;
    await this.bus?.close();
  }

  private deliver(payload: string): void {
    let notice: LiveNotice;
    try {
      notice = JSON.parse(payload) as LiveNotice;
    } catch {
      return;
    }
    const { appId, epoch, seq, after, documents } = notice;
    if (typeof notice.at === "number") this.onLag?.(Math.max(0, Date.now() - notice.at) / 1000);
    const event: LiveHint =
      notice.type === "deleted"
        ? { type: "deleted", appId, epoch }
        : { type: "changed", appId, epoch, seq, ...(documents ? { after, documents } : {}) };
    for (const l of this.listeners.get(notice.account) ?? []) {
      if (l.apps.has(appId)) l.send(this.judge(event, l.apps.get(appId)));
      else if (l.catalog === true || (Array.isArray(l.catalog) && l.catalog.includes(appId)))
        l.send(withoutDocuments(event));
    }
  }
}
