import type { Transport } from "../ports.js";
import type { AppScope, LiveHint } from "../protocol.js";
import { type Runtime, systemRuntime } from "../runtime.js";
import { LiveChannel, type LiveHandlers } from "./live-channel.js";
import { type BackoffOptions, DEFAULT_BACKOFF } from "./machine.js";

/** What a replication's live hints come through: a channel of its own, or its part of a {@link SharedLiveChannel}. */
export interface LiveLink {
  /** Opens (or keeps open) the hints while wanted; stops them when not. */
  want(wanted: boolean): void;
  /** What the hints are asked with changed (the app's version): ask again with what is current. */
  renew(): void;
  /** The server was just reached another way: a channel waiting to reopen tries now. */
  retryNow(): void;
  close(): void;
}

/** Options of {@link SharedLiveChannel}. */
export interface SharedLiveChannelOptions {
  /** The account's transport on this device: it opens the channels (with `catalog`, its token must be the device's). */
  readonly transport: Transport;
  readonly runtime?: Runtime;
  readonly backoff?: BackoffOptions;
  /** Apps joining or leaving within this long are asked for by one new channel (default 25 ms). */
  readonly coalesceMs?: number;
  /** Apps per channel (default 100, the most a server takes): more apps open more channels. */
  readonly maxApps?: number;
}

/** The server ends, at most, this many apps per channel. */
const MAX_APPS = 100;

interface Member {
  /** The app's scope now (`undefined`: the account's catalog, every app's hints). */
  readonly scope: (() => AppScope) | undefined;
  readonly handlers: LiveHandlers;
  wanted: boolean;
  /** Its hints were not delivered for a while (its channel dropped, or it was not wanted): catch up once open. */
  wasDown: boolean;
  closed: boolean;
}

/** One channel opened with a fixed set of members' scopes. */
interface Generation {
  readonly channel: LiveChannel;
  readonly members: ReadonlySet<Member>;
  readonly key: string;
  /** It said its first word since it last (re)connected, and has not dropped since. */
  up: boolean;
}

/**
 * One live channel for several replications of one account on one device (the device hub's apps and its list): a
 * browser holds six connections per server, so a channel per app would leave a device of many apps none for its
 * pulls and pushes, and a server would hold a connection per app of every device.
 *
 * Each member behaves as a channel of its own: it hears its app's hints, is told when its hints may have been missed
 * (and catches up by a pull), and is told when the server answered. When apps join, leave or change version, a new
 * channel is opened with the new set of apps and the old one is closed only once the new one is open: no hint is
 * missed in between, so the members that stay need not catch up.
 *
 * @example
 * ```ts
 * const live = new SharedLiveChannel({ transport });
 * const mail = createReplication({ ...options, app: mailScope, live });
 * const notes = createReplication({ ...options, app: notesScope, live });
 * ```
 */
export class SharedLiveChannel {
  private readonly groups: Group[] = [];
  private readonly runtime: Runtime;
  private closed = false;

  constructor(private readonly options: SharedLiveChannelOptions) {
    this.runtime = options.runtime ?? systemRuntime;
  }

  /** A replication's part of the channel: the hints of the app `scope()` names. */
  join(scope: () => AppScope, handlers: LiveHandlers): LiveLink {
    return this.add(scope, handlers);
  }

  /** The account's catalog: every app's hints, also of apps not on this device (the settings screen's list). */
  joinCatalog(handlers: LiveHandlers): LiveLink {
    return this.add(undefined, handlers);
  }

  /** Closes every channel; the members' links do nothing from now on. */
  close(): void {
    this.closed = true;
    for (const g of this.groups) g.close();
    this.groups.length = 0;
  }

  private add(scope: (() => AppScope) | undefined, handlers: LiveHandlers): LiveLink {
    const member: Member = { scope, handlers, wanted: false, wasDown: false, closed: false };
    const most = Math.min(MAX_APPS, Math.max(1, this.options.maxApps ?? MAX_APPS));
    // The catalog rides along with apps: it does not count against a channel's apps.
    let group = this.groups.find((g) => scope === undefined || g.apps < most);
    if (!group) {
      group = new Group(this.options, this.runtime);
      this.groups.push(group);
    }
    const g = group;
    g.members.add(member);
    return {
      want: (wanted) => {
        if (this.closed || member.closed || member.wanted === wanted) return;
        member.wanted = wanted;
        // Its hints stop reaching it from now: once wanted again, it catches up.
        if (!wanted && g.serves(member)) member.wasDown = true;
        g.changed(!wanted && !g.anyWanted());
      },
      renew: () => {
        if (!this.closed && !member.closed && member.wanted) g.changed(false);
      },
      retryNow: () => g.retryNow(),
      close: () => {
        if (member.closed) return;
        member.closed = true;
        member.wanted = false;
        g.members.delete(member);
        if (!this.closed) g.changed(!g.anyWanted());
      },
    };
  }
}

/** Up to `maxApps` members and the channel (or the two, while one replaces the other) that serves them. */
class Group {
  readonly members = new Set<Member>();
  private current: Generation | undefined;
  private pending: Generation | undefined;
  private timer: unknown;

  constructor(
    private readonly options: SharedLiveChannelOptions,
    private readonly runtime: Runtime,
  ) {}

  /** Apps among the members (the catalog is not one). */
  get apps(): number {
    let n = 0;
    for (const m of this.members) if (m.scope) n++;
    return n;
  }

  /** The member's hints reach it now: an open channel asks for its app. */
  serves(member: Member): boolean {
    return this.current?.up === true && this.current.members.has(member);
  }

  anyWanted(): boolean {
    for (const m of this.members) if (m.wanted) return true;
    return false;
  }

  /** The wanted set or a scope changed: a new channel soon (the same tick's changes together), or none at once. */
  changed(now: boolean): void {
    if (now) {
      this.switchOver();
      return;
    }
    if (this.timer !== undefined) return;
    this.timer = this.runtime.setTimeout(() => {
      this.timer = undefined;
      this.switchOver();
    }, this.options.coalesceMs ?? 25);
  }

  retryNow(): void {
    this.current?.channel.retryNow();
    this.pending?.channel.retryNow();
  }

  close(): void {
    if (this.timer !== undefined) this.runtime.clearTimeout(this.timer);
    this.timer = undefined;
    this.drop(this.pending);
    this.pending = undefined;
    this.drop(this.current);
    this.current = undefined;
  }

  private switchOver(): void {
    if (this.timer !== undefined) this.runtime.clearTimeout(this.timer);
    this.timer = undefined;
    const wanted = new Set([...this.members].filter((m) => m.wanted));
    if (wanted.size === 0) {
      this.close();
      return;
    }
    const key = keyOf(wanted);
    const latest = this.pending ?? this.current;
    if (latest?.key === key) {
      // Back to what is open: a channel being opened for another set is not needed.
      if (this.pending && this.current?.key === key) {
        this.drop(this.pending);
        this.pending = undefined;
      }
      // A member wanted again before its app left the channel: it missed what came meanwhile.
      if (this.current?.up) this.tell(this.current);
      return;
    }
    this.drop(this.pending);
    const scopes = [...wanted].flatMap((m) => (m.scope ? [m.scope()] : []));
    const catalog = [...wanted].some((m) => m.scope === undefined);
    const generation: Generation = {
      channel: new LiveChannel(
        () => this.options.transport.live(scopes, catalog ? { catalog: true } : undefined),
        this.runtime,
        this.options.backoff ?? DEFAULT_BACKOFF,
        {
          event: (event) => this.deliver(generation, event),
          // Told per member once the channel answers (below), when the member's hints may have been missed.
          reopened: () => undefined,
          answered: () => this.answered(generation),
          dropped: () => {
            generation.up = false;
            if (generation === this.current) for (const m of generation.members) m.wasDown = true;
          },
        },
      ),
      members: wanted,
      key,
      up: false,
    };
    if (this.current) this.pending = generation;
    else this.current = generation;
    generation.channel.want(true);
  }

  /** A channel said its first word since it (re)connected: it replaces the one before, and its members catch up. */
  private answered(generation: Generation): void {
    generation.up = true;
    if (generation === this.pending) {
      const before = this.current;
      this.pending = undefined;
      this.current = generation;
      // Members the old channel served while it was up move over without a gap; the others missed their hints.
      if (before) {
        for (const m of before.members) if (!before.up || !generation.members.has(m)) m.wasDown = true;
        before.channel.close();
      }
    }
    if (generation !== this.current) return;
    this.tell(generation, true);
  }

  /** The open channel's members that missed hints catch up; with `answered`, all are told the server answered. */
  private tell(generation: Generation, answered = false): void {
    for (const m of generation.members) {
      if (!m.wanted) continue;
      if (m.wasDown) {
        m.wasDown = false;
        m.handlers.reopened();
      }
      if (answered) m.handlers.answered?.();
    }
  }

  /** A hint, to the members the channel serves; a channel being opened serves only the members not served yet. */
  private deliver(generation: Generation, event: LiveHint): void {
    const current = this.current;
    for (const m of generation.members) {
      if (!m.wanted) continue;
      if (generation !== current && current?.up && current.members.has(m)) continue;
      if (m.scope === undefined || m.scope().appId === event.appId) m.handlers.event(event);
    }
  }

  /** Closes a channel; the members it served miss their hints until another one opens. */
  private drop(generation: Generation | undefined): void {
    if (!generation) return;
    generation.channel.close();
    if (generation === this.current && generation.up) for (const m of generation.members) m.wasDown = true;
  }
}

/** What a channel is opened with: the members' scopes and whether the catalog is asked for. */
function keyOf(members: ReadonlySet<Member>): string {
  return [...members]
    .map((m) => {
      if (!m.scope) return "catalog";
      const s = m.scope();
      return `${s.appId},${s.platform},${s.appVersion},${s.schemaVersion ?? ""}`;
    })
    .sort()
    .join(";");
}
