import { conflictHandler } from "../conflict/index.js";
import type { ConflictHandler, ConflictInput, ConflictStrategy, WithDeleted } from "../conflict/types.js";
import { HokanError } from "../errors.js";
import type { HybridLogicalClock } from "../hlc.js";
import { type JsonObject, jsonEqual } from "../json.js";
import type { LocalDocument, OutboxEntry, ServerBase, SyncState } from "../ports.js";
import type { ServerDocument } from "../protocol.js";
import { describeError } from "./guarded-store.js";
import type { Schema } from "./schema.js";

/**
 * Planning the store changes that server answers cause: pure apart from the clock, given the records involved.
 */

/** What reconciling decides. */
export interface PlanContext {
  /** The app's schema: server states are migrated to it, or left alone when newer. */
  readonly schema: Schema;
  readonly strategyOf: (collection: string) => ConflictStrategy;
  readonly clock: HybridLogicalClock;
  /** The epoch new outbox entries are made under. */
  readonly epoch: number;
  readonly newChangeId: () => string;
  /** A placeholder seq for a new outbox entry (negative: the store numbers it when committing). */
  readonly nextSeq: () => number;
  /** The store takes acknowledgements (its `acknowledgements`): a push's answer then rewrites no document. */
  readonly acknowledgements?: boolean;
}

/** Changes to one document and its outbox entries. */
export interface DocumentPlan {
  readonly document: LocalDocument;
  readonly outboxDelete: readonly number[];
  readonly outboxPut: readonly OutboxEntry[];
  /** The local state changed (the app should be told). */
  readonly changed: boolean;
  /** The server state is the device's own queued change of this seq: it and those before it are acknowledged. */
  readonly acked?: number;
}

/** The base record for a server state (`migrated`: its data was brought up from an older schema). */
export function baseOf(doc: ServerDocument, migrated = false): ServerBase {
  const base = { rev: doc.rev, data: doc.data, hlc: doc.hlc, changeId: doc.changeId };
  return migrated ? { ...base, migrated } : base;
}

/** A state as conflict handlers see it. */
export function withDeleted(data: JsonObject | null): WithDeleted {
  return data === null ? { _deleted: true } : { ...data, _deleted: false };
}

function withoutDeleted(doc: WithDeleted): JsonObject | null {
  if (doc._deleted) return null;
  const { _deleted, ...data } = doc;
  return data as JsonObject;
}

/**
 * Brings a server state of a document together with what the device holds of it: its record and its outbox
 * entries (in seq order).
 *
 * @remarks
 * - The server state is the device's own change (same change id): that entry and older ones are acknowledged.
 * - Nothing pending: the server state is taken as it is.
 * - The server state is the base the pending change was made on: nothing to decide.
 * - Otherwise the collection's conflict strategy resolves local against server, with the last seen server state as
 *   the common base; if the result differs from the server state, it is queued as a new change on top of it.
 */
export async function reconcile(
  ctx: PlanContext,
  local: LocalDocument | undefined,
  pending: readonly OutboxEntry[],
  server: ServerDocument,
  migrated = false,
): Promise<DocumentPlan> {
  ctx.clock.receive(server.hlc);
  const base = baseOf(server, migrated);
  const serverState: LocalDocument = {
    collection: server.collection,
    id: server.id,
    data: server.data,
    hlc: server.hlc,
    base,
  };
  const own = pending.findIndex((e) => e.changeId === server.changeId);
  if (own >= 0) {
    const rest = pending.slice(own + 1);
    const acked = pending.slice(0, own + 1).map((e) => e.seq);
    const document = rest.length === 0 || local === undefined ? serverState : { ...local, base };
    return {
      document,
      outboxDelete: acked,
      outboxPut: [],
      changed: false,
      acked: (pending[own] as OutboxEntry).seq,
    };
  }
  if (pending.length === 0 || local === undefined) {
    const changed = local === undefined ? server.data !== null : local.hlc !== server.hlc;
    return { document: serverState, outboxDelete: [], outboxPut: [], changed };
  }
  // The latest pending change is what this device still wants to send. It equals the local state, except after a
  // delete of the backup dropped newer changes: those must not reach the server through a merge either.
  const mine = pending[pending.length - 1] as OutboxEntry;
  if (mine.kind === "default") {
    // A default never wins over a backed-up value, whatever the strategy: the device takes the server's state (the
    // app is told). Over a deletion it still fills the document, pushed on top of the server's revision.
    if (server.data !== null) {
      return { document: serverState, outboxDelete: pending.map((e) => e.seq), outboxPut: [], changed: true };
    }
    return { document: { ...local, base }, outboxDelete: [], outboxPut: [], changed: false };
  }
  if (local.base !== undefined && local.base.rev === server.rev && local.base.changeId === server.changeId) {
    return { document: local, outboxDelete: [], outboxPut: [], changed: false };
  }
  const handler = conflictHandler(ctx.strategyOf(server.collection));
  const real = withDeleted(server.data);
  const input = {
    newDocumentState: withDeleted(mine.data),
    realMasterState: real,
    newHlc: mine.hlc,
    realHlc: server.hlc,
    ...(local.base === undefined ? {} : { assumedMasterState: withDeleted(local.base.data) }),
  };
  // Any edit wins over a default the server holds: it was only the app's first-launch value.
  const { resolved, same } =
    server.kind === "default" && server.data !== null
      ? { resolved: input.newDocumentState, same: jsonEqual(mine.data, server.data) }
      : await resolveWith(handler, input, real, server);
  const drop = pending.map((e) => e.seq);
  if (same) {
    return { document: serverState, outboxDelete: drop, outboxPut: [], changed: true };
  }
  const data = withoutDeleted(resolved);
  const hlc = ctx.clock.tick();
  const entry: OutboxEntry = {
    seq: ctx.nextSeq(),
    collection: server.collection,
    id: server.id,
    data,
    hlc,
    changeId: ctx.newChangeId(),
    epoch: ctx.epoch,
  };
  return {
    document: { collection: server.collection, id: server.id, data, hlc, base },
    outboxDelete: drop,
    outboxPut: [entry],
    changed: true,
  };
}

/**
 * Runs a collection's conflict handler. A handler that throws, or answers with something other than a document, is a
 * bug in the app's code: replication stops with an `internal` error that names the collection and the cause, instead
 * of retrying the same conflict forever.
 */
async function resolveWith(
  handler: ConflictHandler,
  input: ConflictInput,
  real: WithDeleted,
  server: ServerDocument,
): Promise<{ resolved: WithDeleted; same: boolean }> {
  const where = `the conflict handler of ${JSON.stringify(server.collection)} (document ${JSON.stringify(server.id)})`;
  let resolved: WithDeleted;
  let same: boolean;
  try {
    resolved = await handler.resolve(input, "hokan-replication");
    if (typeof resolved !== "object" || resolved === null || Array.isArray(resolved)) {
      throw new TypeError(
        `resolve() returned ${resolved === null ? "null" : typeof resolved}, not a document`,
      );
    }
    same = handler.isEqual(resolved, real, "hokan-replication");
  } catch (error) {
    throw new HokanError("internal", `${where} threw ${describeError(error)}`, { cause: error });
  }
  return { resolved, same };
}

/**
 * The store changes for learning that the app's backup was deleted (a newer epoch): queued changes made under an
 * older epoch are dropped, so they can never bring deleted data back, and no document keeps a server base. The
 * device's own data stays: it belongs to the app, and a later change to it is backed up under the new epoch.
 * `entries` are as of the device's epoch (`atEpoch`): one still at epoch 0 was queued before any contact, and stays.
 */
export function planReset(
  newEpoch: number,
  documents: readonly LocalDocument[],
  entries: readonly OutboxEntry[],
): { documents: LocalDocument[]; dropped: OutboxEntry[]; sync: Partial<SyncState> } {
  const dropped = entries.filter((e) => e.epoch !== 0 && e.epoch !== newEpoch);
  const rebased = documents
    .filter((d) => d.base !== undefined)
    .map(({ base: _, ...rest }): LocalDocument => rest);
  return {
    documents: rebased,
    dropped,
    sync: { epoch: newEpoch, checkpoint: { epoch: newEpoch, seq: 0 } },
  };
}
