import * as Y from "yjs";
import type { JsonObject } from "../json.js";
import { laterSide } from "./lww.js";
import type { ConflictHandler, WithDeleted } from "./types.js";

/** A document of a `yjs` collection: the Yjs document state as one base64-encoded update. */
export interface YjsDocument extends JsonObject {
  update: string;
}

/** Encodes a Yjs document's whole state as a {@link YjsDocument}. */
export function encodeYDoc(doc: Y.Doc): YjsDocument {
  return { update: toBase64(Y.encodeStateAsUpdate(doc)) };
}

/** Applies a {@link YjsDocument} to a Yjs document (merging it in). */
export function applyYjsDocument(doc: Y.Doc, value: YjsDocument): void {
  Y.applyUpdate(doc, fromBase64(value.update));
}

/** The canonical update of a state: the same content always encodes to the same bytes. */
function canonical(update: string): string {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, fromBase64(update));
  const out = toBase64(Y.encodeStateAsUpdate(doc));
  doc.destroy();
  return out;
}

function isYjsDocument(v: WithDeleted): v is WithDeleted<YjsDocument> {
  return typeof (v as { update?: unknown }).update === "string";
}

/**
 * Exact merge of Yjs documents: both sides' updates are merged, so every concurrent edit survives. A deletion
 * against an edit is decided by hybrid logical clock time.
 */
export const yjs: ConflictHandler = {
  isEqual(a, b) {
    if (a._deleted || b._deleted) return a._deleted === b._deleted;
    if (!isYjsDocument(a) || !isYjsDocument(b)) return false;
    return a.update === b.update || canonical(a.update) === canonical(b.update);
  },
  resolve(input) {
    const { newDocumentState: local, realMasterState: real } = input;
    if (local._deleted || real._deleted) return laterSide(input);
    if (!isYjsDocument(local) || !isYjsDocument(real)) {
      throw new TypeError("a yjs collection holds documents shaped { update: base64 }");
    }
    const merged = Y.mergeUpdates([fromBase64(real.update), fromBase64(local.update)]);
    return { update: canonical(toBase64(merged)), _deleted: false };
  },
};

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
