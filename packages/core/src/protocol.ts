import type { ErrorCode } from "./errors.js";
import type { Json, JsonObject } from "./json.js";

/**
 * Version of the wire protocol. A server refuses other major versions with `protocol`.
 */
export const PROTOCOL_VERSION = 1;

/** Platforms a device can be. */
export type Platform = "android" | "ios" | "web";
/** Every platform, in a stable order. */
export const PLATFORMS: readonly Platform[] = ["android", "ios", "web"];

/** Operations the registry grants per app and platform. */
export type Capability = "backup" | "restore" | "bulkBackup" | "bulkDelete";

/** Which app, at which version, on which platform, a request is about. */
export interface AppScope {
  /** Reverse-DNS app id, e.g. `jp.example.mail`. */
  readonly appId: string;
  /** The running app's version, dotted numbers (`3.2.0`). */
  readonly appVersion: string;
  readonly platform: Platform;
  /** Schema version of the app's backed-up data, recorded in the catalog. */
  readonly schemaVersion?: number;
}

/**
 * One app in the operator's registry, for one platform.
 */
export interface RegistryEntry {
  readonly appId: string;
  readonly platform: Platform;
  readonly name?: string;
  readonly capabilities: readonly Capability[];
  /** Lowest app version allowed to sync. */
  readonly minVersion?: string;
  /** ISO date from which {@link minVersion} is enforced; before it, older clients get a warning only. */
  readonly minVersionEnforcedFrom?: string;
  /** ISO date from which backup is refused (`retired`). */
  readonly retiredAt?: string;
  /** Days after {@link retiredAt} during which restore is still allowed (default 0). */
  readonly restoreGraceDays?: number;
  /** Where the user gets the app's update (its store page): an `https:` URL, shown with an update notice. */
  readonly updateUrl?: string;
}

/** Where a client's pull has reached in the server's change feed of one account's app. */
export interface Checkpoint {
  /** The epoch the sequence number belongs to. 0: never pulled. */
  readonly epoch: number;
  /** The last server sequence number applied. */
  readonly seq: number;
}

/** A document as the server holds it. `data: null` is a deletion (tombstone). */
export interface ServerDocument {
  readonly collection: string;
  readonly id: string;
  readonly data: JsonObject | null;
  /** Per-document revision, 1 for the first write, +1 per accepted change. */
  readonly rev: number;
  /** Position in the app's change feed. */
  readonly seq: number;
  /** Hybrid logical clock time of the write that produced this state. */
  readonly hlc: string;
  /** The change that produced this state (lets a client recognise its own write after a lost response). */
  readonly changeId: string;
  /** Server time (ms since epoch) the state was stored. */
  readonly updatedAt: number;
  /** Schema version of the app that wrote this state (1 when absent). */
  readonly schemaVersion?: number;
  /**
   * `"default"`: an app's first-launch default that no edit has touched since; any edit, from any device, wins over
   * it. Absent for an edit.
   */
  readonly kind?: WriteKind;
}

/**
 * What kind of write a change is. Absent: an edit. `"default"`: an app's first-launch default (`putDefault`), which
 * fills a document the backup does not hold and never replaces one: the server refuses it (`stale` conflict, with
 * its state) wherever it holds a live document, and a device with a default queued takes the server's state instead.
 */
export type WriteKind = "default";

/** Pull request: changes after a checkpoint. */
export interface PullRequest {
  readonly scope: AppScope;
  readonly checkpoint: Checkpoint;
  readonly limit: number;
}

/** Pull response: one batch of the change feed in server order. */
export interface PullResponse {
  /** The app's current epoch. */
  readonly epoch: number;
  /** True when the checkpoint was from an older epoch: the client must drop what it knew and start over. */
  readonly reset: boolean;
  readonly documents: readonly ServerDocument[];
  readonly checkpoint: Checkpoint;
  /** More documents wait after this batch. */
  readonly more: boolean;
  /** The server's clock (ms) when it answered: devices correct their hybrid logical clocks by it. */
  readonly serverTime: number;
}

/**
 * One change in a push. Either the whole new state (`data`, `null` to delete) or an RFC 6902 `patch` against the
 * state the client believes the server has (`baseRev`).
 */
export interface PushChange {
  readonly collection: string;
  readonly id: string;
  /** Unique id of this change (client generated). */
  readonly changeId: string;
  /** The epoch the change was made under; 0 from a client that never synced this app. */
  readonly epoch: number;
  /** The revision the client believes the server has; 0 = the client believes the document does not exist. */
  readonly baseRev: number;
  readonly hlc: string;
  readonly data?: JsonObject | null;
  readonly patch?: readonly PatchOperation[];
  /** Schema version of the writing app's data (1 when absent). */
  readonly schemaVersion?: number;
  /** `"default"`: a first-launch default, with the whole document in `data` ({@link WriteKind}). */
  readonly kind?: WriteKind;
}

/** An RFC 6902 operation. */
export type PatchOperation =
  | { readonly op: "add" | "replace" | "test"; readonly path: string; readonly value: Json }
  | { readonly op: "remove"; readonly path: string }
  | { readonly op: "move" | "copy"; readonly path: string; readonly from: string };

/** A push: a batch of changes with an idempotency key. */
export interface PushRequest {
  readonly scope: AppScope;
  /** Same key + same body → the stored result is returned and nothing is applied twice. */
  readonly idempotencyKey: string;
  readonly changes: readonly PushChange[];
  /**
   * Part of a bulk backup (the settings screen's "back up all now"): refused (`capability`) unless the registry also
   * offers `bulkBackup` for the app on the platform. Not part of the idempotency fingerprint.
   */
  readonly bulk?: boolean;
}

/** What happened to one change of a push. */
export type PushResult =
  | { readonly changeId: string; readonly status: "accepted"; readonly rev: number; readonly seq: number }
  | {
      readonly changeId: string;
      readonly status: "conflict";
      /** `epoch`: made under a superseded epoch; `stale`: the base revision differs. */
      readonly reason: "epoch" | "stale";
      /** The current server state (absent if the document does not exist, as after a delete of the backup). */
      readonly current?: ServerDocument;
      /**
       * The current state was left out to bound the answer: an earlier result of the same answer carries that
       * document, or the answer's states reached the server's page size (4 MiB). The client pulls it.
       */
      readonly omitted?: true;
    }
  | {
      readonly changeId: string;
      readonly status: "rejected";
      readonly code: string;
      readonly message: string;
    };

/** Push response. */
export interface PushResponse {
  readonly epoch: number;
  /** The server's clock (ms) when it answered. */
  readonly serverTime: number;
  readonly results: readonly PushResult[];
}

/** A hint on the live channel. */
export type LiveEvent =
  | {
      readonly type: "changed";
      readonly appId: string;
      readonly epoch: number;
      /** The app's change feed position after the change. */
      readonly seq: number;
      /**
       * A small change carries its documents: every document of the feed after `after` up to `seq`, as a pull from
       * checkpoint `{ epoch, seq: after }` would have returned them then. A device at that checkpoint takes them
       * without a pull; any other pulls.
       */
      readonly after?: number;
      readonly documents?: readonly ServerDocument[];
    }
  | { readonly type: "deleted"; readonly appId: string; readonly epoch: number }
  | LiveSignal;

/**
 * What keeps a live channel honest: `open` comes first and says how often the server sends `beat`; `reconnect` says
 * the server ends the channel on purpose. A client that
 * hears nothing (no hint, no beat) for {@link LIVE_GIVE_UP_BEATS} intervals takes the channel for dead (a NAT timeout
 * or a Wi-Fi handover leaves a connection open that carries nothing) and opens a new one, catching up by a pull.
 */
export type LiveSignal =
  | { readonly type: "open"; readonly heartbeatMs: number }
  | { readonly type: "beat" }
  /**
   * The server is going away (it is stopping, or it lost notices and must start afresh): the channel ends next, and
   * the client opens it again at once, not after a backoff (a fleet's load balancer sends it to another process).
   */
  | { readonly type: "reconnect" };

/** The longest a client waits to reopen a channel its server ended with `reconnect`, spread at random. */
export const LIVE_RECONNECT_SPREAD_MS = 1_000;

/** The server's heartbeat interval on live channels unless it announces another (ms). */
export const LIVE_HEARTBEAT_MS = 15_000;

/** Heartbeat intervals of silence after which a client gives a live channel up. */
export const LIVE_GIVE_UP_BEATS = 2.5;

/** A message on the live channel about an app's data. */
export type LiveHint = Exclude<LiveEvent, LiveSignal>;

/** Is this message on the live channel a hint about an app (not a signal of the channel itself)? */
export function isLiveHint(event: LiveEvent): event is LiveHint {
  return event.type === "changed" || event.type === "deleted";
}

/** One app in the account's catalog. */
export interface CatalogEntry {
  readonly appId: string;
  readonly epoch: number;
  /** Server time of the last accepted change (ms since epoch). */
  readonly lastBackupAt: number;
  readonly documents: number;
  readonly bytes: number;
  readonly appVersion: string;
  readonly platform: Platform;
  readonly schemaVersion: number;
  readonly status: "active" | "retired";
}

/** The account's backed-up apps. */
export interface Catalog {
  readonly apps: readonly CatalogEntry[];
}

/** Result of deleting one app's backup or all of them. */
export interface DeleteResult {
  /** The apps whose backup is gone, each with its new epoch. */
  readonly apps: readonly { readonly appId: string; readonly epoch: number }[];
  /**
   * Apps a bulk delete left alone, with the reason: `capability` (the registry does not offer bulk delete for the app
   * on the platform), `unsupported` (the app is not in the registry for it). Absent when none was skipped.
   */
  readonly skipped?: readonly { readonly appId: string; readonly code: ErrorCode }[];
}
