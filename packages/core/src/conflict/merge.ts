import jsonPatch from "fast-json-patch";
import type { Json, JsonObject } from "../json.js";
import { cloneJson } from "../json.js";
import type { PatchOperation } from "../protocol.js";
import { laterSide, sameState } from "./lww.js";
import type { ConflictHandler, WithDeleted } from "./types.js";

const { applyOperation, compare } = jsonPatch;

/**
 * Three-way JSON merge: the changes each side made to the common base (the last server state this device saw) are
 * both applied; when both sides changed the same field (or one changed a field inside the other's), the later
 * side by hybrid logical clock wins that field. Arrays are values: concurrent edits to one array are a clash.
 * A deletion against an edit is decided by the clock too.
 */
export const merge: ConflictHandler = {
  isEqual: sameState,
  resolve(input) {
    const { newDocumentState: local, realMasterState: real } = input;
    if (local._deleted || real._deleted) return laterSide(input);
    const base =
      input.assumedMasterState?._deleted === false ? input.assumedMasterState : { _deleted: false };
    const result = threeWayMerge(strip(base), strip(local), strip(real), laterSide(input) === local);
    return { ...result, _deleted: false };
  },
};

/**
 * Merges `local` and `remote`, both edits of `base`. `localWinsClashes` decides fields both changed.
 */
export function threeWayMerge(
  base: JsonObject,
  local: JsonObject,
  remote: JsonObject,
  localWinsClashes: boolean,
): JsonObject {
  const localOps = diff(base, local);
  const remoteOps = diff(base, remote);
  const result = cloneJson(remote);
  for (const op of localOps) {
    const clash = remoteOps.some((r) => overlaps(r.path, op.path));
    if (clash && !localWinsClashes) continue;
    applyLenient(result, op);
  }
  return result;
}

/** RFC 6902 operations turning `from` into `to`, with arrays treated as single values. */
export function diff(from: JsonObject, to: JsonObject): PatchOperation[] {
  const ops: PatchOperation[] = [];
  const seen = new Set<string>();
  for (const op of compare(from, to) as PatchOperation[]) {
    const arrayPath = firstArrayAncestor(from, to, op.path);
    if (arrayPath === undefined) {
      ops.push(op);
      continue;
    }
    if (seen.has(arrayPath)) continue;
    seen.add(arrayPath);
    const value = at(to, arrayPath);
    ops.push(value === undefined ? { op: "remove", path: arrayPath } : { op: "add", path: arrayPath, value });
  }
  return ops;
}

function applyLenient(target: JsonObject, op: PatchOperation): void {
  try {
    applyOperation(target, ensureParents(target, op), false, true);
  } catch {
    // The path no longer exists on the winning side (e.g. its parent was removed): the other side's edit stands.
  }
}

/**
 * A winning edit below an object the other side removed or replaced recreates the object, so the edit is not lost
 * with its parent.
 */
function ensureParents(target: JsonObject, op: PatchOperation): PatchOperation {
  if (op.op !== "add" && op.op !== "replace") return op;
  const parts = splitPath(op.path);
  let obj: JsonObject = target;
  for (const part of parts.slice(0, -1)) {
    const child = obj[part];
    if (child === undefined || child === null || typeof child !== "object" || Array.isArray(child))
      obj[part] = {};
    obj = obj[part] as JsonObject;
  }
  return { op: "add", path: op.path, value: op.value };
}

function overlaps(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}

function firstArrayAncestor(from: Json, to: Json, path: string): string | undefined {
  const parts = splitPath(path);
  for (let i = 1; i <= parts.length; i++) {
    const prefix = joinPath(parts.slice(0, i));
    if (Array.isArray(at(from, prefix)) || Array.isArray(at(to, prefix))) return prefix;
  }
  return undefined;
}

function at(value: Json, path: string): Json | undefined {
  let node: Json | undefined = value;
  for (const part of splitPath(path)) {
    if (node === null || typeof node !== "object") return undefined;
    node = Array.isArray(node) ? node[Number(part)] : node[part];
    if (node === undefined) return undefined;
  }
  return node;
}

function splitPath(path: string): string[] {
  if (path === "") return [];
  return path
    .slice(1)
    .split("/")
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function joinPath(parts: readonly string[]): string {
  return parts.map((p) => `/${p.replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");
}

function strip(doc: WithDeleted): JsonObject {
  const { _deleted, ...data } = doc;
  return data as JsonObject;
}
