import jsonPatch from "fast-json-patch";
import { type ErrorCode, HokanError } from "./errors.js";
import type { JsonObject } from "./json.js";
import { cloneJson, jsonDepth, utf8Length } from "./json.js";
import type { DeniedReason, Operation, RegistryKnowledge } from "./policy.js";
import { registryRefusal } from "./policy.js";
import type {
  AppScope,
  Checkpoint,
  LiveHint,
  PatchOperation,
  Platform,
  PushChange,
  PushRequest,
  PushResult,
  ServerDocument,
} from "./protocol.js";

/**
 * The server's decision rules as pure functions, shared by the in-memory server model and the real server so that
 * both decide every request the same way.
 */

/** Limits a server enforces; {@link DEFAULT_LIMITS} unless the operator says otherwise. */
export interface ServerLimits {
  /** Largest document, bytes of JSON. */
  readonly maxDocumentBytes: number;
  /** Most changes in one push. */
  readonly maxBatchChanges: number;
  /** Most documents in one pull response. */
  readonly maxPullLimit: number;
  /**
   * Most bytes of documents ({@link storedBytes}) in one pull response: a page ends before the document that would
   * pass this, so a page of large documents stays small (it always holds at least one document).
   */
  readonly maxPullBytes: number;
  /** Deepest nesting of a document. */
  readonly maxDepth: number;
  /** Longest collection name or document id. */
  readonly maxIdLength: number;
  /** Most operations in one change's JSON patch. */
  readonly maxPatchOperations: number;
  /**
   * Most bytes one push's patches may add or copy, counted as they apply, before the work is done: a `copy` doubles
   * a document, and a dozen of them in a few hundred bytes of request would take gigabytes and seconds.
   */
  readonly maxPatchWorkBytes: number;
}

/** The limits a server applies unless its operator configures others. */
export const DEFAULT_LIMITS: ServerLimits = {
  maxDocumentBytes: 256 * 1024,
  maxBatchChanges: 1000,
  maxPullLimit: 5000,
  maxPullBytes: 4 * 1024 * 1024,
  maxDepth: 32,
  maxIdLength: 256,
  maxPatchOperations: 1000,
  maxPatchWorkBytes: 4 * 1024 * 1024,
};

/** What to do with one pushed change. */
export type ChangeDecision =
  /** Already applied (same change id): answer as accepted with the stored state. */
  | { readonly kind: "duplicate" }
  /** `json` and `bytes`: the document's JSON text and UTF-8 size, measured once for the limits and the store. */
  | {
      readonly kind: "accept";
      readonly data: JsonObject | null;
      readonly json?: string;
      readonly bytes: number;
    }
  | { readonly kind: "conflict"; readonly reason: "epoch" | "stale" }
  | { readonly kind: "reject"; readonly error: HokanError };

/**
 * Decides one change against the current server state of its document and the app's epoch.
 *
 * @remarks
 * A change made under another epoch than the current one is a conflict (`epoch`): it was queued before a delete and
 * must never bring deleted data back. That includes epoch 0, which a client that never synced sends: it learns the
 * epoch from the answer and sends again, while a stale copy of its first request (a network replay after a delete)
 * is refused. A change whose base revision is not the current one is a conflict (`stale`), whole document or patch
 * alike; the client resolves it and pushes again.
 */
export function decideChange(
  current: ServerDocument | undefined,
  epoch: number,
  change: PushChange,
  limits: ServerLimits = DEFAULT_LIMITS,
  measured?: Measured,
  budget: PatchBudget = { bytes: limits.maxPatchWorkBytes },
): ChangeDecision {
  const invalid = validateChange(change, limits);
  if (invalid) return { kind: "reject", error: invalid };
  if (current !== undefined && current.changeId === change.changeId) return { kind: "duplicate" };
  if (change.epoch !== epoch) return { kind: "conflict", reason: "epoch" };
  // A default never replaces a backed-up value, whatever its base: the device takes the server's state instead.
  if (change.kind === "default" && current?.data != null) return { kind: "conflict", reason: "stale" };
  if (change.baseRev !== (current?.rev ?? 0)) return { kind: "conflict", reason: "stale" };
  const stored = current?.data == null ? 0 : (current.schemaVersion ?? 1);
  if (stored > (change.schemaVersion ?? 1)) {
    // Never let an older app overwrite data it cannot read: consent state or settings would be lost.
    return {
      kind: "reject",
      error: new HokanError(
        "upgrade-required",
        `${change.collection}/${change.id} is stored at schema ${stored}; this app writes schema ${change.schemaVersion ?? 1}`,
      ),
    };
  }
  let data: JsonObject | null;
  if (change.patch !== undefined) {
    const applied = applyPatch(current?.data ?? null, change.patch, limits, budget);
    if (applied instanceof HokanError) return { kind: "reject", error: applied };
    data = applied;
  } else {
    data = change.data ?? null;
  }
  if (data === null) return { kind: "accept", data, bytes: 0 };
  const size =
    change.patch === undefined && measured !== undefined ? measured : measureDocument(data, limits);
  if ("error" in size) return { kind: "reject", error: size.error };
  return { kind: "accept", data, ...size };
}

/** A document's JSON text and size, or why the limits refuse it: {@link measureDocument}'s answer. */
export type Measured = ReturnType<typeof measureDocument>;

/**
 * Measures every whole document of a push ahead of its decisions ({@link decidePush}'s `measured`): a server does
 * it before it takes the app's lock, so the serialisation does not hold up the next push of the app.
 */
export function measureChanges(
  changes: readonly PushChange[],
  limits: ServerLimits,
): (Measured | undefined)[] {
  return changes.map((c) =>
    c.patch === undefined && c.data !== null && typeof c.data === "object" && !Array.isArray(c.data)
      ? measureDocument(c.data, limits)
      : undefined,
  );
}

/** The largest schema version a change or a scope may name (a 32-bit integer, as the servers store it). */
export const MAX_SCHEMA_VERSION = 2_147_483_647;

/** Checks a document against the size and depth limits. */
export function checkDocument(data: JsonObject, limits: ServerLimits): HokanError | undefined {
  const measured = measureDocument(data, limits);
  return "error" in measured ? measured.error : undefined;
}

/** A document's JSON text and UTF-8 size, or why the limits refuse it (depth first, then size). */
export function measureDocument(
  data: JsonObject,
  limits: ServerLimits,
): { readonly error: HokanError } | { readonly json: string; readonly bytes: number } {
  if (jsonDepth(data, limits.maxDepth) > limits.maxDepth) {
    return {
      error: new HokanError("payload-too-large", `document nests deeper than ${limits.maxDepth} levels`, {
        details: { depthLimit: limits.maxDepth },
      }),
    };
  }
  const json = JSON.stringify(data);
  const size = utf8Length(json);
  if (size > limits.maxDocumentBytes) {
    return {
      error: new HokanError(
        "payload-too-large",
        `document is ${size} bytes, over the ${limits.maxDocumentBytes} limit`,
        { details: { size, limit: limits.maxDocumentBytes } },
      ),
    };
  }
  return { json, bytes: size };
}

function validateChange(change: PushChange, limits: ServerLimits): HokanError | undefined {
  for (const [name, value] of [
    ["collection", change.collection],
    ["id", change.id],
    ["changeId", change.changeId],
  ] as const) {
    if (typeof value !== "string" || value.length === 0 || value.length > limits.maxIdLength) {
      return new HokanError(
        "bad-request",
        `${name} must be a string of 1 to ${limits.maxIdLength} characters`,
      );
    }
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
    if (/[\u0000-\u001f]/.test(value))
      return new HokanError("bad-request", `${name} contains control characters`);
  }
  if (!Number.isSafeInteger(change.epoch) || change.epoch < 0) {
    return new HokanError("bad-request", "epoch must be a non-negative integer");
  }
  if (!Number.isSafeInteger(change.baseRev) || change.baseRev < 0) {
    return new HokanError("bad-request", "baseRev must be a non-negative integer");
  }
  if (
    change.schemaVersion !== undefined &&
    (!Number.isSafeInteger(change.schemaVersion) ||
      change.schemaVersion < 1 ||
      change.schemaVersion > MAX_SCHEMA_VERSION)
  ) {
    return new HokanError("bad-request", `schemaVersion must be an integer from 1 to ${MAX_SCHEMA_VERSION}`);
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (typeof change.hlc !== "string" || change.hlc.length > 64 || /[\u0000-\u001f]/.test(change.hlc)) {
    return new HokanError("bad-request", "hlc must be a hybrid logical clock time");
  }
  if (change.kind !== undefined && change.kind !== "default") {
    return new HokanError("bad-request", 'kind must be "default" or absent');
  }
  if (change.kind === "default" && !isPlainObject(change.data)) {
    return new HokanError("bad-request", "a default carries its whole document in data");
  }
  const hasData = change.data !== undefined;
  const hasPatch = change.patch !== undefined;
  if (hasData === hasPatch)
    return new HokanError("bad-request", "a change carries exactly one of data or patch");
  if (hasData && change.data !== null && !isPlainObject(change.data)) {
    return new HokanError("bad-request", "data must be a JSON object or null");
  }
  if (hasPatch && !Array.isArray(change.patch)) return new HokanError("bad-patch", "patch must be an array");
  return undefined;
}

/** What is left of a push's patch work ({@link ServerLimits.maxPatchWorkBytes}), spent as patches apply. */
export interface PatchBudget {
  bytes: number;
}

const PATCH_OPS = new Set(["add", "remove", "replace", "move", "copy", "test"]);

/**
 * Applies an RFC 6902 patch to a copy of `base`, one operation at a time, paying for each `add`, `replace` and `copy`
 * from `budget` (the bytes it puts in) before doing it: a patch that would cost more is refused as
 * `payload-too-large` without the work. A patch that does not apply, names an operation outside RFC 6902, has more
 * than `limits.maxPatchOperations` operations or yields a non-object is `bad-patch`.
 */
export function applyPatch(
  base: JsonObject | null,
  patch: readonly PatchOperation[],
  limits: ServerLimits = DEFAULT_LIMITS,
  budget: PatchBudget = { bytes: limits.maxPatchWorkBytes },
): JsonObject | HokanError {
  if (base === null) return new HokanError("bad-patch", "a patch needs an existing document as its base");
  if (!Array.isArray(patch)) return new HokanError("bad-patch", "patch must be an array");
  if (patch.length > limits.maxPatchOperations) {
    return new HokanError(
      "bad-patch",
      `${patch.length} patch operations, over the ${limits.maxPatchOperations} limit`,
    );
  }
  for (const [i, op] of patch.entries()) {
    if (!isPlainObject(op) || !PATCH_OPS.has(op.op as string) || typeof op.path !== "string") {
      return new HokanError("bad-patch", `patch operation ${i} is not an RFC 6902 operation`);
    }
  }
  try {
    let doc: unknown = cloneJson(base);
    for (const [i, op] of patch.entries()) {
      const adds =
        op.op === "copy"
          ? jsonPatch.getValueByPointer(doc, String(op.from))
          : op.op === "add" || op.op === "replace"
            ? op.value
            : undefined;
      if (adds !== undefined) {
        budget.bytes -= utf8Length(JSON.stringify(adds) ?? "");
        if (budget.bytes < 0) {
          return new HokanError(
            "payload-too-large",
            `patch operation ${i} would take the push past ${limits.maxPatchWorkBytes} bytes of patch work`,
            { details: { limit: limits.maxPatchWorkBytes } },
          );
        }
      }
      doc = jsonPatch.applyOperation(doc, op as jsonPatch.Operation, true, true, true, i).newDocument;
    }
    if (!isPlainObject(doc)) return new HokanError("bad-patch", "a patch must leave a JSON object");
    return doc;
  } catch (e) {
    return new HokanError("bad-patch", `patch does not apply: ${(e as Error).name}`);
  }
}

function isPlainObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Where a pull starts. */
export interface PullPlan {
  /** The client's checkpoint is from another epoch (or from a future the server does not have): start over. */
  readonly reset: boolean;
  /** Send documents with a sequence number above this. */
  readonly afterSeq: number;
}

/** Refuses a malformed checkpoint: its epoch and seq must be non-negative integers. */
export function checkCheckpoint(checkpoint: Checkpoint): HokanError | undefined {
  const { epoch, seq } = checkpoint;
  if (Number.isSafeInteger(epoch) && epoch >= 0 && Number.isSafeInteger(seq) && seq >= 0) return undefined;
  return new HokanError("bad-request", "checkpoint epoch and seq must be non-negative integers");
}

/** Decides where a pull starts, or refuses a malformed checkpoint. */
export function planPull(checkpoint: Checkpoint, epoch: number, lastSeq: number): PullPlan | HokanError {
  const invalid = checkCheckpoint(checkpoint);
  if (invalid) return invalid;
  const { epoch: e, seq } = checkpoint;
  if (e === 0) return { reset: false, afterSeq: 0 };
  if (e !== epoch || seq > lastSeq) return { reset: true, afterSeq: 0 };
  return { reset: false, afterSeq: seq };
}

/**
 * How many of a pull page's candidates (in feed order, with their sizes) the page holds: at most `limit`, and while
 * their bytes stay within `maxBytes`, but always the first. The page has `more` when candidates are left over.
 */
export function pageLength(sizes: readonly number[], limit: number, maxBytes: number): number {
  let total = 0;
  let n = 0;
  for (const size of sizes) {
    if (n >= limit || (n > 0 && total + size > maxBytes)) break;
    total += size;
    n++;
  }
  return n;
}

/** Checks a push request as a whole: batch size. */
export function checkPush(request: PushRequest, limits: ServerLimits): HokanError | undefined {
  if (!Array.isArray(request.changes)) return new HokanError("bad-request", "changes must be an array");
  const odd = request.changes.findIndex((c) => typeof c !== "object" || c === null || Array.isArray(c));
  if (odd >= 0) return new HokanError("bad-request", `changes[${odd}] is not a change object`);
  if (request.changes.length > limits.maxBatchChanges) {
    return new HokanError(
      "batch-too-large",
      `${request.changes.length} changes in one push, over the ${limits.maxBatchChanges} limit`,
    );
  }
  if (typeof request.idempotencyKey !== "string" || !/^[\w-]{8,128}$/.test(request.idempotencyKey)) {
    return new HokanError("bad-request", "idempotencyKey must be 8 to 128 letters, digits, '_' or '-'");
  }
  return undefined;
}

/**
 * The registry's refusal of an operation for a request's app scope, as an error; `undefined` when allowed.
 * `registry === null` (or an entry for another app) means the app is not supported. `bulkBackup` is a backup that
 * also needs the `bulkBackup` capability (a push with `bulk: true`); `bulkDelete` needs only its capability.
 */
export function checkScope(
  registry: RegistryKnowledge,
  scope: AppScope,
  op: Operation | "bulkBackup" | "bulkDelete",
  now: number,
): HokanError | undefined {
  if (registry == null)
    return new HokanError("unsupported", `${scope.appId} is not supported on ${scope.platform}`);
  if (op === "bulkDelete") {
    return registry.capabilities.includes("bulkDelete")
      ? undefined
      : new HokanError("capability", `${scope.appId} does not offer bulk delete on ${scope.platform}`);
  }
  const base: Operation = op === "bulkBackup" ? "backup" : op;
  const reason: DeniedReason | undefined = registryRefusal(registry, scope, base, now);
  if (reason !== undefined) return new HokanError(reason, `${base} of ${scope.appId} refused`);
  if (op === "bulkBackup" && !registry.capabilities.includes("bulkBackup")) {
    return new HokanError("capability", `${scope.appId} does not offer bulk backup on ${scope.platform}`);
  }
  return undefined;
}

/** An app a bulk delete leaves alone, and why (`capability`, `unsupported`). */
export interface SkippedApp {
  readonly appId: string;
  readonly code: ErrorCode;
}

/**
 * Which of an account's apps a bulk delete takes: those the registry offers `bulkDelete` for on the platform (the
 * requesting device's, else the one the app last backed up from). The rest are skipped with the reason, and keep
 * their backup (an app's own delete still takes it). Both lists are in app id order. Shared by every server.
 */
export function planBulkDelete(
  apps: readonly { readonly appId: string; readonly platform: Platform }[],
  entryOf: (appId: string, platform: Platform) => RegistryKnowledge,
  platform: Platform | undefined,
  now: number,
): { readonly take: string[]; readonly skipped: SkippedApp[] } {
  const take: string[] = [];
  const skipped: SkippedApp[] = [];
  for (const app of [...apps].sort((a, b) => (a.appId < b.appId ? -1 : a.appId > b.appId ? 1 : 0))) {
    const on = platform ?? app.platform;
    const refusal = checkScope(
      entryOf(app.appId, on),
      { appId: app.appId, platform: on, appVersion: "0" },
      "bulkDelete",
      now,
    );
    if (refusal) skipped.push({ appId: app.appId, code: refusal.code });
    else take.push(app.appId);
  }
  return { take, skipped };
}

/**
 * A stable fingerprint of a push's changes, stored with its idempotency key: the same key with another body is an
 * `idempotency-mismatch`, never a silent replay of the wrong answer.
 */
export function pushFingerprint(changes: readonly PushChange[]): string {
  // A change id names one state of one document, so the changes' identities stand for the body: hashing every
  // document's canonical JSON instead cost as much CPU as the rest of a push (measured in benchmarks/).
  let text = "";
  for (const c of changes) {
    const kind = c.patch !== undefined ? "p" : c.data === null ? "x" : c.kind === "default" ? "f" : "d";
    text += `${JSON.stringify([c.collection, c.id, c.changeId, c.epoch, c.baseRev, c.hlc, c.schemaVersion ?? 1, kind])}\n`;
  }
  return fnv1a(text);
}

/** JSON with object keys sorted, so equal values always serialise alike. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

function fnv1a(text: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  return (h1 >>> 0).toString(16).padStart(8, "0") + (h2 >>> 0).toString(16).padStart(8, "0");
}

/** A stored document and its size in bytes, as a push batch sees it. */
export interface StoredDocument {
  readonly doc: ServerDocument;
  readonly bytes: number;
}

/** What a push batch does to an app's backup; the caller stores it in one transaction. */
export interface PushOutcome {
  readonly results: PushResult[];
  /** Documents to store, one per document (a document changed twice in one push keeps its last state). */
  readonly writes: (ServerDocument & { readonly bytes: number; readonly json?: string })[];
  /** The app's change feed position after the batch. */
  readonly seq: number;
  /** Change in the number of live documents and in their bytes. */
  readonly documentsDelta: number;
  readonly bytesDelta: number;
}

/**
 * Decides a whole push against the current documents (by `[collection, id]` JSON key) in order, as one transaction
 * would: later changes in the batch see the earlier ones. Shared by every server so they answer alike.
 */
export function decidePush(input: {
  readonly changes: readonly PushChange[];
  readonly current: ReadonlyMap<string, StoredDocument>;
  readonly epoch: number;
  readonly seq: number;
  readonly now: number;
  readonly limits: ServerLimits;
  /** {@link measureChanges} of `changes`, when done ahead. */
  readonly measured?: readonly (Measured | undefined)[];
}): PushOutcome {
  const current = new Map(input.current);
  // One budget for every patch of the push.
  const budget: PatchBudget = { bytes: input.limits.maxPatchWorkBytes };
  /** Documents whose state the answer carries already, and their bytes. */
  const carried = new Set<string>();
  let carriedBytes = 0;
  const results: PushResult[] = [];
  const writes = new Map<string, ServerDocument & { bytes: number; json?: string }>();
  let seq = input.seq;
  let documentsDelta = 0;
  let bytesDelta = 0;
  for (const [i, change] of input.changes.entries()) {
    const key = JSON.stringify([change.collection, change.id]);
    const before = current.get(key);
    const decision = decideChange(
      before?.doc,
      input.epoch,
      change,
      input.limits,
      input.measured?.[i],
      budget,
    );
    if (decision.kind === "duplicate" && before) {
      results.push({
        changeId: change.changeId,
        status: "accepted",
        rev: before.doc.rev,
        seq: before.doc.seq,
      });
    } else if (decision.kind === "accept") {
      const bytes = storedBytes(change, decision.bytes);
      const doc = {
        collection: change.collection,
        id: change.id,
        data: decision.data,
        rev: (before?.doc.rev ?? 0) + 1,
        seq: ++seq,
        hlc: change.hlc,
        changeId: change.changeId,
        updatedAt: input.now,
        schemaVersion: change.schemaVersion ?? 1,
        ...(change.kind === "default" ? { kind: "default" as const } : {}),
        bytes,
      };
      documentsDelta += (doc.data !== null ? 1 : 0) - (before && before.doc.data !== null ? 1 : 0);
      bytesDelta += bytes - (before?.bytes ?? 0);
      current.set(key, { doc, bytes });
      writes.set(key, decision.json === undefined ? doc : { ...doc, json: decision.json });
      results.push({ changeId: change.changeId, status: "accepted", rev: doc.rev, seq: doc.seq });
    } else if (decision.kind === "conflict") {
      // Each document's state once per answer, and no more than a page's worth of them: many stale changes of one
      // large document would otherwise repeat it in the answer (and in the answer kept for the idempotency key).
      let current: { current?: ServerDocument; omitted?: true } = {};
      if (before) {
        const fits = !carried.has(key) && carriedBytes + before.bytes <= input.limits.maxPullBytes;
        if (fits) {
          carried.add(key);
          carriedBytes += before.bytes;
          current = { current: before.doc };
        } else {
          current = { omitted: true };
        }
      }
      results.push({ changeId: change.changeId, status: "conflict", reason: decision.reason, ...current });
    } else if (decision.kind === "reject") {
      results.push({
        changeId: change.changeId,
        status: "rejected",
        code: decision.error.code,
        message: decision.error.message,
      });
    }
  }
  return { results, writes: [...writes.values()], seq, documentsDelta, bytesDelta };
}

/**
 * Most bytes of a live notice with documents: PostgreSQL's NOTIFY payload must be shorter than 8,000 bytes, and the
 * notice also names the account and app.
 */
export const LIVE_NOTICE_BYTES = 7000;

/**
 * The documents a push's live hint carries ({@link LiveHint}'s `documents`): all of its writes when they are small
 * together (a settings change, a consent flag), none otherwise — then devices pull as they would for any hint.
 * Sizes are counted as UTF-8 bytes of JSON, with room for each document's fields.
 */
export function liveDocuments(writes: PushOutcome["writes"]): ServerDocument[] | undefined {
  let bytes = 0;
  for (const w of writes) {
    // `w.bytes` is what the document stores ({@link storedBytes}: its JSON, its ids once and its row); the notice
    // spells the ids out again with room for escaping, and the document's other fields.
    const ids = w.collection.length + w.id.length + w.hlc.length + w.changeId.length;
    bytes += w.bytes - STORED_ROW_BYTES + 2 * ids + 160;
    if (bytes > LIVE_NOTICE_BYTES - 500) return undefined;
  }
  return writes.map(({ bytes: _, json: _json, ...doc }) => doc);
}

/**
 * A live hint as one channel may receive it: its documents only while the registry lets the scope the channel
 * opened with restore the app (`scope` undefined: a channel that did not say, from an older client). Otherwise the
 * hint alone, and the device pulls, where an old version or a retired app gets its refusal, as for any pull.
 */
export function liveEventFor(
  event: LiveHint,
  scope: AppScope | undefined,
  registry: RegistryKnowledge,
  now: number,
): LiveHint {
  if (event.type !== "changed" || event.documents === undefined) return event;
  if (scope !== undefined && checkScope(registry, scope, "restore", now) === undefined) return event;
  return withoutDocuments(event);
}

/** A live hint as a channel gets it for an app it did not name (the catalog's): the hint alone. */
export function withoutDocuments(event: LiveHint): LiveHint {
  if (event.type !== "changed" || event.documents === undefined) return event;
  const { after: _, documents: _documents, ...hint } = event;
  return hint;
}

/** What every stored document or tombstone costs besides its JSON and the strings it names: its row's other fields. */
export const STORED_ROW_BYTES = 64;

/**
 * What a document takes of its app's backup, for the quota, the catalog's `bytes` and pull pages: its JSON, its
 * collection, id, clock and change id, and {@link STORED_ROW_BYTES}. A deleted document is kept as a tombstone (so the
 * delete reaches every device) and costs the same without JSON: ids and tombstones cannot fill a server for free.
 */
export function storedBytes(
  doc: Pick<PushChange, "collection" | "id" | "hlc" | "changeId">,
  jsonBytes: number,
): number {
  return (
    jsonBytes +
    utf8Length(doc.collection) +
    utf8Length(doc.id) +
    utf8Length(doc.hlc) +
    utf8Length(doc.changeId) +
    STORED_ROW_BYTES
  );
}

/**
 * The quota rule: a push may not leave an app's backup over `quotaBytes`, unless it makes the backup smaller (a
 * full backup can always be trimmed). `undefined` when the push may be stored.
 */
export function checkQuota(
  appId: string,
  bytesBefore: number,
  outcome: Pick<PushOutcome, "bytesDelta">,
  quotaBytes: number | undefined,
): HokanError | undefined {
  const after = bytesBefore + outcome.bytesDelta;
  if (quotaBytes === undefined || after <= quotaBytes || after <= bytesBefore) return undefined;
  return new HokanError("quota", `the backup of ${appId} would hold ${after} bytes, over its ${quotaBytes}`, {
    details: { bytes: after, quota: quotaBytes },
  });
}
