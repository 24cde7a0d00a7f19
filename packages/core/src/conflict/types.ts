import type { JsonObject } from "../json.js";

/** A document as conflict handlers see it: its data plus `_deleted`, as in RxDB. */
export type WithDeleted<T extends JsonObject = JsonObject> = T & { _deleted: boolean };

/**
 * What a conflict handler decides between; the same shape as RxDB's `RxConflictHandlerInput`, plus the hybrid
 * logical clock times of both sides (RxDB handlers can ignore them).
 */
export interface ConflictInput<T extends JsonObject = JsonObject> {
  /** The state this device wants to write. */
  readonly newDocumentState: WithDeleted<T>;
  /** The state the server has now. */
  readonly realMasterState: WithDeleted<T>;
  /** The server state this device last saw (the base of its edit); absent if it never saw one. */
  readonly assumedMasterState?: WithDeleted<T>;
  /** HLC time of the local edit. */
  readonly newHlc: string;
  /** HLC time of the server's state. */
  readonly realHlc: string;
}

/**
 * A conflict strategy as a plain value, shaped like RxDB's conflict handler so an app can bring its own.
 *
 * @example
 * ```ts
 * const keepHighScore: ConflictHandler<{ score: number }> = {
 *   isEqual: (a, b) => a.score === b.score && a._deleted === b._deleted,
 *   resolve: ({ newDocumentState: n, realMasterState: r }) => (n.score > r.score ? n : r),
 * };
 * ```
 */
export interface ConflictHandler<T extends JsonObject = JsonObject> {
  /** Whether two states are the same for this collection (must be synchronous and cheap). */
  isEqual(a: WithDeleted<T>, b: WithDeleted<T>, context: string): boolean;
  /** The state both sides converge to. Must be deterministic: every device resolves the same input the same way. */
  resolve(input: ConflictInput<T>, context: string): WithDeleted<T> | Promise<WithDeleted<T>>;
}

/** A collection's conflict strategy: a built-in by name, or a custom handler. */
export type ConflictStrategy = "lww" | "merge" | ConflictHandler;
