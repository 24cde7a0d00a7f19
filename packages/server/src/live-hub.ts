import { type AppScope, type LiveHint, withoutDocuments } from "@hokan/core";
import { LIVE_CHANNEL, type LiveNotice } from "./backup-store.js";
import type { Database } from "./database.js";

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
 * Fans NOTIFYs out to this process's live connections: a change committed through any server process on the same
 * database reaches every live client of the account.
 */
export class LiveHub {
  private readonly listeners = new Set<Listener>();
  private stop: (() => Promise<void>) | undefined;

  /** `judge` makes a hint what one connection may receive (core's `liveEventFor` against the registry). */
  constructor(private readonly judge: (event: LiveHint, scope: AppScope | undefined) => LiveHint) {}

  async start(db: Database): Promise<void> {
    this.stop = await db.listen(
      LIVE_CHANNEL,
      (payload) => this.deliver(payload),
      () => this.resync(),
    );
  }

  /**
   * Ends every live connection after notices may have been lost (the database connection this process listened on
   * was lost and is back): each client opens its channel again and catches up from its checkpoint, as after any drop.
   */
  resync(): void {
    const all = [...this.listeners];
    this.listeners.clear();
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
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get connections(): number {
    return this.listeners.size;
  }

  /** Live connections of one account on this process. */
  connectionsOf(account: string): number {
    let n = 0;
    for (const l of this.listeners) if (l.account === account) n++;
    return n;
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.stop?.();
  }

  private deliver(payload: string): void {
    let notice: LiveNotice;
    try {
      notice = JSON.parse(payload) as LiveNotice;
    } catch {
      return;
    }
    const { appId, epoch, seq, after, documents } = notice;
    const event: LiveHint =
      notice.type === "deleted"
        ? { type: "deleted", appId, epoch }
        : { type: "changed", appId, epoch, seq, ...(documents ? { after, documents } : {}) };
    for (const l of this.listeners) {
      if (l.account !== notice.account) continue;
      if (l.apps.has(appId)) l.send(this.judge(event, l.apps.get(appId)));
      else if (l.catalog === true || (Array.isArray(l.catalog) && l.catalog.includes(appId)))
        l.send(withoutDocuments(event));
    }
  }
}
