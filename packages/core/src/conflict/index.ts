import { lww } from "./lww.js";
import { merge } from "./merge.js";
import type { ConflictHandler, ConflictStrategy } from "./types.js";
import { yjs } from "./yjs.js";

/** The handler for a strategy name, or the custom handler itself. */
export function conflictHandler(strategy: ConflictStrategy): ConflictHandler {
  if (strategy === "lww") return lww;
  if (strategy === "merge") return merge;
  if (strategy === "yjs") return yjs;
  return strategy;
}

export { lww, sameState } from "./lww.js";
export { diff, merge, threeWayMerge } from "./merge.js";
export type { ConflictHandler, ConflictInput, ConflictStrategy, WithDeleted } from "./types.js";
export { applyYjsDocument, encodeYDoc, type YjsDocument, yjs } from "./yjs.js";
