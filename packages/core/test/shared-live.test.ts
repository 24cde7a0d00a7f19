import { Observable, type Subscriber } from "rxjs";
import { describe, expect, it } from "vitest";
import {
  type AppScope,
  type LiveEvent,
  type LiveHint,
  type LiveOptions,
  SharedLiveChannel,
  type Transport,
} from "../src/index.js";
import { ManualRuntime } from "../src/testing/index.js";

/** A transport whose live channels the test drives: each opening is recorded with what it asked for. */
function server() {
  const channels: {
    apps: string[];
    catalog: boolean;
    subscriber: Subscriber<LiveEvent>;
    closed: boolean;
  }[] = [];
  const transport = {
    live: (apps: readonly AppScope[], options?: LiveOptions) =>
      new Observable<LiveEvent>((subscriber) => {
        const channel = {
          apps: apps.map((a) => `${a.appId}@${a.appVersion}`),
          catalog: options?.catalog === true,
          subscriber,
          closed: false,
        };
        channels.push(channel);
        return () => {
          channel.closed = true;
        };
      }),
  } as unknown as Transport;
  const open = () => channels.filter((c) => !c.closed);
  return { transport, channels, open };
}

function member(appId: string, appVersion = "1.0.0") {
  const heard: LiveHint[] = [];
  const counts = { reopened: 0, answered: 0 };
  let scope: AppScope = { appId, platform: "web", appVersion };
  return {
    scope: () => scope,
    setVersion: (v: string) => {
      scope = { ...scope, appVersion: v };
    },
    heard,
    counts,
    handlers: {
      event: (e: LiveHint) => heard.push(e),
      reopened: () => counts.reopened++,
      answered: () => counts.answered++,
    },
  };
}

const changed = (appId: string, seq: number): LiveHint => ({ type: "changed", appId, epoch: 1, seq });
const OPEN: LiveEvent = { type: "open", heartbeatMs: 15_000 };

describe("SharedLiveChannel", () => {
  it("opens one channel for the apps that join together, and gives each app only its own hints", async () => {
    const runtime = new ManualRuntime();
    const { transport, channels } = server();
    const shared = new SharedLiveChannel({ transport, runtime });
    const [mail, notes] = [member("mail"), member("notes")];
    const links = [mail, notes].map((m) => shared.join(m.scope, m.handlers));
    for (const l of links) l.want(true);
    await runtime.advance(25);
    expect(channels.map((c) => c.apps)).toEqual([["mail@1.0.0", "notes@1.0.0"]]);
    channels[0]?.subscriber.next(OPEN);
    await runtime.advance(0);
    expect([mail.counts, notes.counts]).toEqual([
      { reopened: 0, answered: 1 },
      { reopened: 0, answered: 1 },
    ]);
    channels[0]?.subscriber.next(changed("mail", 3));
    channels[0]?.subscriber.next(changed("notes", 7));
    expect(mail.heard).toEqual([changed("mail", 3)]);
    expect(notes.heard).toEqual([changed("notes", 7)]);
    shared.close();
    expect(channels[0]?.closed).toBe(true);
    expect(runtime.pendingTimers).toBe(0);
  });

  it("adds an app by a new channel, closing the old one only once the new one is open: no hint is missed", async () => {
    const runtime = new ManualRuntime();
    const { transport, channels, open } = server();
    const shared = new SharedLiveChannel({ transport, runtime });
    const [mail, notes] = [member("mail"), member("notes")];
    shared.join(mail.scope, mail.handlers).want(true);
    await runtime.advance(25);
    channels[0]?.subscriber.next(OPEN);
    shared.join(notes.scope, notes.handlers).want(true);
    await runtime.advance(25);
    expect(channels.map((c) => c.apps)).toEqual([["mail@1.0.0"], ["mail@1.0.0", "notes@1.0.0"]]);
    // Until the new channel is open, the old one still serves mail, and is the only one that does.
    channels[0]?.subscriber.next(changed("mail", 1));
    channels[1]?.subscriber.next(OPEN);
    await runtime.advance(0);
    expect(open()).toHaveLength(1);
    expect(channels[0]?.closed).toBe(true);
    channels[1]?.subscriber.next(changed("mail", 2));
    channels[1]?.subscriber.next(changed("notes", 1));
    expect(mail.heard).toEqual([changed("mail", 1), changed("mail", 2)]);
    expect(notes.heard).toEqual([changed("notes", 1)]);
    // Mail moved without a gap and notes opened for the first time: neither has anything to catch up.
    expect([mail.counts.reopened, notes.counts.reopened]).toEqual([0, 0]);
    shared.close();
  });

  it("tells every app to catch up after its channel dropped and reopened, and only then", async () => {
    const runtime = new ManualRuntime();
    const { transport, channels } = server();
    const shared = new SharedLiveChannel({ transport, runtime, backoff: { baseMs: 100, maxMs: 1000 } });
    const [mail, notes] = [member("mail"), member("notes")];
    for (const m of [mail, notes]) shared.join(m.scope, m.handlers).want(true);
    await runtime.advance(25);
    channels[0]?.subscriber.next(OPEN);
    channels[0]?.subscriber.error(new Error("dropped"));
    await runtime.advance(1000);
    expect(channels).toHaveLength(2);
    expect([mail.counts.reopened, notes.counts.reopened]).toEqual([0, 0]);
    channels[1]?.subscriber.next(OPEN);
    await runtime.advance(0);
    expect([mail.counts.reopened, notes.counts.reopened]).toEqual([1, 1]);
    shared.close();
  });

  it("asks again with an app's new version, and closes once no app wants hints", async () => {
    const runtime = new ManualRuntime();
    const { transport, channels, open } = server();
    const shared = new SharedLiveChannel({ transport, runtime });
    const [mail, notes] = [member("mail"), member("notes")];
    const [mailLink, notesLink] = [mail, notes].map((m) => shared.join(m.scope, m.handlers));
    mailLink?.want(true);
    notesLink?.want(true);
    await runtime.advance(25);
    channels[0]?.subscriber.next(OPEN);
    mail.setVersion("2.0.0");
    mailLink?.renew();
    await runtime.advance(25);
    expect(channels[1]?.apps).toEqual(["mail@2.0.0", "notes@1.0.0"]);
    channels[1]?.subscriber.next(OPEN);
    notesLink?.want(false);
    await runtime.advance(25);
    expect(channels[2]?.apps).toEqual(["mail@2.0.0"]);
    // Notes hears nothing once it no longer wants hints, even from the channel that still asks for it.
    channels[1]?.subscriber.next(changed("notes", 4));
    expect(notes.heard).toEqual([]);
    mailLink?.want(false);
    expect(open()).toEqual([]);
    // Wanted again: it missed what came meanwhile, so it catches up once a channel is open.
    mailLink?.want(true);
    await runtime.advance(25);
    channels.at(-1)?.subscriber.next(OPEN);
    await runtime.advance(0);
    expect(mail.counts.reopened).toBe(1);
    shared.close();
    expect(runtime.pendingTimers).toBe(0);
  });

  it("carries the account's catalog along: every hint reaches it, and apps past `maxApps` get a channel of their own", async () => {
    const runtime = new ManualRuntime();
    const { transport, channels } = server();
    const shared = new SharedLiveChannel({ transport, runtime, maxApps: 2 });
    const catalog = member("");
    const apps = ["a", "b", "c"].map((id) => member(id));
    shared.joinCatalog(catalog.handlers).want(true);
    for (const m of apps) shared.join(m.scope, m.handlers).want(true);
    await runtime.advance(25);
    expect(channels.map((c) => [c.apps, c.catalog])).toEqual([
      [["a@1.0.0", "b@1.0.0"], true],
      [["c@1.0.0"], false],
    ]);
    channels[0]?.subscriber.next(OPEN);
    channels[0]?.subscriber.next(changed("a", 1));
    channels[0]?.subscriber.next(changed("elsewhere", 1));
    expect(catalog.heard).toEqual([changed("a", 1), changed("elsewhere", 1)]);
    expect(apps[0]?.heard).toEqual([changed("a", 1)]);
    shared.close();
    expect(channels.every((c) => c.closed)).toBe(true);
  });
});
