import { compareHlc } from "../hlc.js";
import { jsonEqual } from "../json.js";
import type { ConflictHandler, ConflictInput, WithDeleted } from "./types.js";

/** Equality of two states as JSON, `_deleted` included; deleted states are equal whatever they held. */
export function sameState(a: WithDeleted, b: WithDeleted): boolean {
  if (a._deleted || b._deleted) return a._deleted === b._deleted;
  return jsonEqual(a, b);
}

/** The later of the two sides by hybrid logical clock; the server's state wins a tie. */
export function laterSide(input: ConflictInput): WithDeleted {
  return compareHlc(input.newHlc, input.realHlc) > 0 ? input.newDocumentState : input.realMasterState;
}

/**
 * Last writer wins, by hybrid logical clock time: the edit made causally later wins, whatever the devices' wall
 * clocks say; concurrent edits are ordered by HLC time, then device id.
 */
export const lww: ConflictHandler = {
  isEqual: sameState,
  resolve: laterSide,
};
