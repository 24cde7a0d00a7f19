import { HokanError } from "../errors.js";
import { cloneJson, type JsonObject } from "../json.js";
import type { LocalDocument, OutboxEntry, ServerBase } from "../ports.js";
import type { ServerDocument } from "../protocol.js";
import { describeError } from "./guarded-store.js";

/** Turns a document of the previous schema version into the next one. Must be deterministic. */
export type Migration = (
  data: JsonObject,
  context: { readonly collection: string; readonly id: string },
) => JsonObject;

/** Migrations by the version they produce: `{ 2: v1ToV2, 3: v2ToV3 }`. */
export type Migrations = Readonly<Record<number, Migration>>;

/** A server document as this app sees it: migrated forward, or too new to read. */
export type AdaptedDocument =
  | { readonly kind: "readable"; readonly document: ServerDocument; readonly migrated: boolean }
  | { readonly kind: "newer"; readonly schemaVersion: number };

/**
 * The app's schema: its version and the migrations that bring older data up to it.
 *
 * @remarks
 * Data restored from an older app version is migrated forward, never dropped; data from a newer version than the
 * running app understands is left untouched (and reported as `upgrade-required`), never overwritten.
 */
export class Schema {
  constructor(
    readonly version: number,
    private readonly migrations: Migrations = {},
  ) {
    if (!Number.isSafeInteger(version) || version < 1) {
      throw new HokanError("bad-request", `schema version must be a positive integer, not ${version}`);
    }
    for (let v = 2; v <= version; v++) {
      if (typeof migrations[v] !== "function") {
        throw new HokanError("bad-request", `schema version ${version} needs a migration to version ${v}`);
      }
    }
  }

  /** Migrates data written at schema `from` up to this version. */
  up(data: JsonObject, from: number, context: { collection: string; id: string }): JsonObject {
    let out = data;
    for (let v = Math.max(1, from) + 1; v <= this.version; v++) {
      const step = this.migrations[v] as Migration;
      try {
        out = step(cloneJson(out), context);
      } catch (error) {
        // A migration is the app's code: its failure is a bug to report, not something a retry mends.
        throw new HokanError(
          "internal",
          `migrating ${context.collection}/${context.id} to schema ${v} threw ${describeError(error)}`,
          { cause: error },
        );
      }
    }
    return out;
  }

  /** A server document as this app can take it. */
  adapt(doc: ServerDocument): AdaptedDocument {
    const from = doc.schemaVersion ?? 1;
    if (doc.data === null || from === this.version)
      return { kind: "readable", document: doc, migrated: false };
    if (from > this.version) return { kind: "newer", schemaVersion: from };
    return { kind: "readable", document: { ...doc, data: this.up(doc.data, from, doc) }, migrated: true };
  }

  /** A local document and its base migrated from `from` (the device's data after an app upgrade). */
  upgradeDocument(doc: LocalDocument, from: number): LocalDocument {
    const data = doc.data === null ? null : this.up(doc.data, from, doc);
    if (doc.base === undefined) return { ...doc, data };
    const base: ServerBase =
      doc.base.data === null
        ? doc.base
        : { ...doc.base, data: this.up(doc.base.data, from, doc), migrated: true };
    return { ...doc, data, base };
  }

  /** A queued change migrated from `from`. */
  upgradeEntry(entry: OutboxEntry, from: number): OutboxEntry {
    const { rejected, ...rest } = entry;
    const data = entry.data === null ? null : this.up(entry.data, from, entry);
    // A change refused for its old schema gets another chance now.
    return rejected?.code === "upgrade-required" ? { ...rest, data } : { ...entry, data };
  }
}
