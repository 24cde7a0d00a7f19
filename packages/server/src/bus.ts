import type { NatsConnection, Subscription } from "nats";
import nats from "nats";
import { LIVE_CHANNEL } from "./backup-store.js";
import type { Database } from "./database.js";

/**
 * How the server processes of a fleet tell each other of changes, for their live channels. A notice is a JSON string
 * (`LiveNotice`) about one account's app.
 */
export interface LiveBus {
  readonly kind: "postgres" | "nats";
  /**
   * True when the database sends the notices itself, in the committing transaction (PostgreSQL `NOTIFY`); else the
   * server publishes each one once its transaction committed.
   */
  readonly inTransaction: boolean;
  /** Starts receiving: `deliver` gets each notice for a watched account; `gap` when notices may have been lost. */
  start(deliver: (payload: string) => void, gap: () => void): Promise<void>;
  /**
   * This process has live channels of `account` (counted: one call per channel). Resolves once the account's notices
   * reach this process: a change committed after that is delivered.
   */
  watch(account: string): Promise<void>;
  /** One channel of `account` fewer; with none left, its notices may stop coming. */
  unwatch(account: string): void;
  /** Resolves once the notices of a watched `account` reach this process (at once for an account not watched). */
  ready(account: string): Promise<void>;
  /** Sends a committed change's notice (a bus outside the database only). */
  publish(account: string, payload: string): void;
  close(): Promise<void>;
}

/**
 * The default: PostgreSQL `LISTEN`/`NOTIFY` on one channel, nothing to install. Every process receives every notice,
 * and each notifying transaction takes a database-wide lock as it commits.
 */
export function postgresBus(db: Database): LiveBus {
  let stop: (() => Promise<void>) | undefined;
  return {
    kind: "postgres",
    inTransaction: true,
    start: async (deliver, gap) => {
      stop = await db.listen(LIVE_CHANNEL, deliver, gap);
    },
    watch: () => Promise.resolve(),
    unwatch: () => undefined,
    ready: () => Promise.resolve(),
    publish: () => {
      throw new Error("notices on PostgreSQL are sent by the committing transaction");
    },
    close: async () => {
      await stop?.();
    },
  };
}

/** The subject of an account's notices: its id in base64url, which holds no subject separator or wildcard. */
export const natsSubject = (account: string): string =>
  `hokan.live.${Buffer.from(account, "utf8").toString("base64url")}`;

/**
 * NATS: a subject per account, to which a process subscribes while it has live channels of the account, so each
 * process receives the notices of its own channels' accounts only and the database sends none. A notice is published
 * after its transaction commits: should the process die in between, the hint is lost and the account's other devices
 * learn of the change when their channel next opens (a long poll: at its next poll).
 */
export async function natsBus(servers: string): Promise<LiveBus> {
  const nc: NatsConnection = await nats.connect({
    servers,
    name: `hokan-server ${process.pid}`,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  });
  const watched = new Map<string, { count: number; subscription: Subscription; ready: Promise<void> }>();
  let deliver: (payload: string) => void = () => undefined;
  let closed = false;
  return {
    kind: "nats",
    inTransaction: false,
    start: async (onPayload, gap) => {
      deliver = onPayload;
      void (async () => {
        // Published while the connection was down never reaches this process: its channels must catch up.
        for await (const status of nc.status()) if (status.type === "reconnect") gap();
      })();
    },
    watch: (account) => {
      const known = watched.get(account);
      if (known) {
        known.count++;
        return known.ready;
      }
      const subscription = nc.subscribe(natsSubject(account), {
        callback: (error, message) => {
          if (!error) deliver(message.string());
        },
      });
      // The server has the subscription once it answers a ping sent after it.
      const ready = nc.flush().catch(() => undefined);
      watched.set(account, { count: 1, subscription, ready });
      return ready;
    },
    unwatch: (account) => {
      const known = watched.get(account);
      if (!known) return;
      if (--known.count > 0) return;
      watched.delete(account);
      if (!closed) known.subscription.unsubscribe();
    },
    ready: (account) => watched.get(account)?.ready ?? Promise.resolve(),
    publish: (account, payload) => {
      nc.publish(natsSubject(account), payload);
    },
    close: async () => {
      closed = true;
      watched.clear();
      await nc.drain().catch(() => nc.close());
    },
  };
}
