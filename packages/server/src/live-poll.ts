import { createHash } from "node:crypto";
import { type AppScope, HokanError, type LiveEvent, type LiveHint, type ServerDocument } from "@hokan/core";
import type { LiveHub } from "./live-hub.js";

/** Longest wait a long poll may ask for: past a minute, proxies and carriers start cutting idle connections. */
export const MAX_POLL_WAIT_MS = 60_000;

/** A feed position per app: what the account's apps table says, or what a client was told. */
export type Heads = Map<string, { epoch: number; seq: number }>;

/** The answer of one long poll: the events since the client's cursor, and the cursor to send next time. */
export interface PollAnswer {
  readonly events: readonly LiveEvent[];
  readonly cursor: string;
}

/** `wait=25s`, `wait=25000ms` or `wait=25000` (ms): how long a long poll may be held; `undefined` when not asked. */
export function parseWait(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const match = typeof value === "string" ? /^(\d{1,6})(ms|s)?$/.exec(value) : null;
  const ms = match ? Number(match[1]) * (match[2] === "s" ? 1000 : 1) : Number.NaN;
  if (!(ms >= 0 && ms <= MAX_POLL_WAIT_MS)) {
    throw new HokanError(
      "bad-request",
      `wait=${String(value)} is not a wait of 0 to ${MAX_POLL_WAIT_MS / 1000} s (like wait=25s)`,
    );
  }
  return ms;
}

/** Apps a cursor names one by one at most; past it a digest stands for them (an account with that many is rare). */
const CURSOR_APPS = 64;

/**
 * A cursor says which heads a client has been told of: `e:` and `appId:epoch:seq` for each app, so a poll hints
 * exactly the apps that moved since; for an account of very many apps, `d:` and a digest of them, whose mismatch
 * hints every app at its head. Either way a change that fell between two polls, or a notice lost while the database
 * connection was down, is hinted at the next poll. Opaque to clients.
 */
export function cursorOf(heads: Heads): string {
  const entries = [...heads.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([appId, h]) => `${appId}:${h.epoch}:${h.seq}`);
  if (entries.length <= CURSOR_APPS) return `e:${entries.join(",")}`;
  return `d:${createHash("sha256").update(entries.join(",")).digest("base64url").slice(0, 22)}`;
}

/** A cursor as a client may send it back (the server's own form; checked before use). */
export const CURSOR = /^(?:e:(?:[\w.-]{1,200}:\d{1,10}:\d{1,16}(?:,|$)){0,64}|d:[\w-]{22})$/;

/** The documents of an app's feed after one seq up to another, when a hint may carry them. */
export type HintDocuments = (
  account: string,
  appId: string,
  afterSeq: number,
  headSeq: number,
) => Promise<readonly ServerDocument[] | undefined>;

/** The hints that bring a client at `cursor` to `heads`: each app that moved, or every app if the cursor cannot say. */
function catchUp(cursor: string, heads: Heads): LiveHint[] {
  if (cursor === cursorOf(heads)) return [];
  const told = new Map<string, { epoch: number; seq: number }>();
  if (cursor.startsWith("e:")) {
    for (const entry of cursor.slice(2).split(",").filter(Boolean)) {
      const [appId = "", epoch, seq] = entry.split(":");
      told.set(appId, { epoch: Number(epoch), seq: Number(seq) });
    }
  }
  const hints: LiveHint[] = [];
  for (const [appId, h] of heads) {
    const was = cursor.startsWith("e:") ? told.get(appId) : undefined;
    if (was && h.epoch === was.epoch && h.seq <= was.seq) continue;
    if (was && h.epoch > was.epoch) hints.push({ type: "deleted", appId, epoch: h.epoch });
    if (!was || h.seq > was.seq || h.epoch < was.epoch) {
      // From a known position in the same epoch, the hint can carry the documents since, as the stream's would. An
      // app a cursor of names does not name had no feed yet: its position was the start of the first epoch.
      const after = was
        ? h.epoch === was.epoch
          ? was.seq
          : undefined
        : cursor.startsWith("e:") && h.epoch === 1
          ? 0
          : undefined;
      hints.push({
        type: "changed",
        appId,
        epoch: h.epoch,
        seq: h.seq,
        ...(after === undefined ? {} : { after }),
      });
    }
  }
  return hints;
}

/** What one long poll covers and how it is held. */
export interface PollRequest {
  readonly account: string;
  readonly apps: ReadonlyMap<string, AppScope | undefined>;
  /** Also the account's other apps (the catalog's hints): all of them, or the token's. */
  readonly catalog: boolean | readonly string[];
  readonly waitMs: number;
  /** The cursor of the client's last answer; none on a channel's first poll. */
  readonly cursor: string | undefined;
  /** The heartbeat a first answer announces: a client gives the channel up after a few of these without an answer. */
  readonly heartbeatMs: number;
  /** Settles when the client goes away: the poll stops waiting. */
  readonly gone: Promise<void>;
}

/**
 * The live channel for a client whose `fetch` cannot stream (React Native's, some webviews'): each request is held
 * until a hint for its apps arrives or the wait ends, and answered with the hints and a cursor. The hints are the
 * stream's, judged by the same rules (the hub's); between two polls nothing is lost, because each poll compares the
 * account's heads with the client's cursor and hints every covered app at its head when they differ.
 */
export async function longPoll(
  hub: LiveHub,
  heads: (account: string) => Promise<Heads>,
  r: PollRequest,
  documents?: HintDocuments,
): Promise<PollAnswer> {
  const covers = (appId: string) =>
    r.apps.has(appId) || r.catalog === true || (Array.isArray(r.catalog) && r.catalog.includes(appId));
  const arrived: LiveHint[] = [];
  let wake: (() => void) | undefined;
  /** The hub ended the poll (the server is stopping, or its notices were lost): answer, do not wait. */
  let ended = false;
  // Registered before the heads are read: a change committed meanwhile is in the heads, its hint in `arrived`, or both.
  const remove = hub.add(
    r.account,
    r.apps,
    (event) => {
      arrived.push(event);
      wake?.();
    },
    () => {
      ended = true;
      wake?.();
    },
    r.catalog,
  );
  /**
   * A catch-up hint of an app the poll names with its scope, with the documents since the client's position where a
   * hint may carry them, judged as the stream's hints are (none below an enforced minimum version); else the hint
   * alone, and the client pulls.
   */
  const withDocuments = async (hint: LiveHint): Promise<LiveHint> => {
    if (hint.type !== "changed" || hint.after === undefined) return hint;
    const { after, ...alone } = hint;
    const scope = r.apps.get(hint.appId);
    if (!scope || !documents) return alone;
    const found = await documents(r.account, hint.appId, after, hint.seq);
    return found ? hub.judge({ ...alone, after, documents: found }, scope) : alone;
  };
  try {
    // The heads are read once this process receives the account's notices: a change committed after the read is
    // hinted (a bus that routes by account subscribes first).
    await hub.ready(r.account);
    const known: Heads = new Map([...(await heads(r.account))].filter(([appId]) => covers(appId)));
    const events: LiveEvent[] = [];
    if (r.cursor === undefined) events.push({ type: "open", heartbeatMs: r.heartbeatMs });
    else {
      for (const hint of catchUp(r.cursor, known)) events.push(await withDocuments(hint));
    }
    if (events.length === 0 && arrived.length === 0 && r.waitMs > 0 && !ended) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, r.waitMs);
        function done() {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        }
        // Hints committed together arrive together: a short moment lets them share one answer.
        wake = () => {
          wake = undefined;
          setTimeout(done, 5);
        };
        void r.gone.then(done);
      });
    }
    for (const event of arrived) {
      const head = known.get(event.appId);
      const seq = event.type === "changed" ? event.seq : (head?.seq ?? 0);
      // Heads only move forward; a notice no newer than the heads read says nothing new. Against a cursor it was
      // either hinted already by the catch-up above (it committed between the listening and the read) or told before:
      // it is not sent twice.
      const newer = !head || event.epoch > head.epoch || (event.epoch === head.epoch && seq > head.seq);
      if (newer) known.set(event.appId, { epoch: event.epoch, seq });
      if (newer || r.cursor === undefined) events.push(event);
    }
    // Ended by the server: the client's next poll goes at once (on a new connection, so perhaps to another process).
    if (ended) events.push({ type: "reconnect" });
    return { events, cursor: cursorOf(known) };
  } finally {
    remove();
  }
}
