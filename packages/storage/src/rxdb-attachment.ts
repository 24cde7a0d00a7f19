import {
  type DocumentKey,
  HokanError,
  type JsonObject,
  jsonEqual,
  type LocalDocument,
  type LocalStore,
  type Namespace,
  type OutboxEntry,
  type Replication,
  type StoreCommit,
  type SyncState,
} from "@hokan/core";
import { getChangedDocumentsSince, type RxCollection } from "rxdb";
import { debounceTime, merge, type Subscription } from "rxjs";
import type { DexieStore } from "./dexie-store.js";

/** Options of {@link attachRxDB}. */
export interface RxAttachmentOptions {
  /** Hokan's own store: it keeps the sync metadata (and Hokan's copy of each document) for the attachment. */
  readonly meta: DexieStore;
  /** The account and app whose data the RxDB collections hold. */
  readonly namespace: Namespace;
  /** Hokan collection name → the app's RxDB collection. Hokan opens no collection of its own. */
  readonly collections: Readonly<Record<string, RxCollection>>;
  /** How many changed RxDB documents to read per step (default 200). */
  readonly batchSize?: number;
}

const RX_FIELDS = new Set(["_deleted", "_attachments", "_meta", "_rev"]);
type RxCheckpoint = unknown;

function sameNamespace(a: Namespace, b: Namespace): boolean {
  return a.account === b.account && a.app === b.app;
}

/**
 * Backs up an app's existing RxDB collections (rxdb 17, any RxStorage) with Hokan.
 *
 * @remarks
 * It is a {@link LocalStore} for the replication: Hokan's records (with their sync metadata) live in Hokan's Dexie
 * store, and every document Hokan stores (a restore, a merge) is written into the app's RxDB collection too. What
 * the app writes to RxDB itself is found from RxDB's own change feed (`getChangedDocumentsSince`) — live while the
 * engine runs, and after a restart from the last checkpoint, so changes made while the app was killed or the engine
 * stopped are not missed — and handed to the replication as local changes.
 *
 * Namespaces other than {@link RxAttachmentOptions.namespace} are kept in the Dexie store alone.
 *
 * @example
 * ```ts
 * const attachment = attachRxDB({ meta: new DexieStore(), namespace: { account, app }, collections: { settings: db.settings } });
 * const replication = createReplication({ store: attachment, ... });
 * await replication.start();
 * await attachment.watch(replication); // back up what the app writes to RxDB
 * ```
 */
export function attachRxDB(options: RxAttachmentOptions): RxAttachment {
  return new RxAttachment(options);
}

export class RxAttachment implements LocalStore {
  private watching: Subscription | undefined;
  private draining: Promise<void> = Promise.resolve();

  constructor(private readonly options: RxAttachmentOptions) {
    for (const [name, c] of Object.entries(options.collections)) {
      if (typeof c?.storageInstance !== "object") {
        throw new HokanError("bad-request", `collections.${name} is not an RxDB collection`);
      }
    }
  }

  getDocuments(ns: Namespace, keys: readonly DocumentKey[]): Promise<(LocalDocument | undefined)[]> {
    return this.options.meta.getDocuments(ns, keys);
  }
  listDocuments(ns: Namespace, collection?: string): Promise<LocalDocument[]> {
    return this.options.meta.listDocuments(ns, collection);
  }
  readOutbox(ns: Namespace, limit?: number, after?: number): Promise<OutboxEntry[]> {
    return this.options.meta.readOutbox(ns, limit, after);
  }
  outboxFor(ns: Namespace, keys: readonly DocumentKey[]): Promise<OutboxEntry[]> {
    return this.options.meta.outboxFor(ns, keys);
  }
  countOutbox(ns: Namespace): Promise<number> {
    return this.options.meta.countOutbox(ns);
  }
  getSync(ns: Namespace): Promise<SyncState | undefined> {
    return this.options.meta.getSync(ns);
  }
  dropNamespace(ns: Namespace): Promise<void> {
    return this.options.meta.dropNamespace(ns);
  }

  /**
   * Commits to Hokan's store, then writes the documents into RxDB. Should the app die in between, the next
   * {@link watch} finds the difference and writes them then.
   */
  async commit(ns: Namespace, change: StoreCommit): Promise<readonly number[] | undefined | undefined> {
    const mine = sameNamespace(ns, this.options.namespace) ? (change.documents ?? []) : [];
    const before = mine.length ? await this.options.meta.getDocuments(ns, mine) : [];
    const seqs = await this.options.meta.commit(ns, change);
    for (const [i, doc] of mine.entries()) await this.mirror(doc, before[i]?.data ?? null);
    return seqs;
  }

  async close(): Promise<void> {
    this.watching?.unsubscribe();
    this.watching = undefined;
    await this.draining;
  }

  /**
   * Starts backing up what the app writes to RxDB: first everything changed since the last checkpoint (also while
   * the engine was not running), then every change as it happens. Documents Hokan stored but RxDB lacks (a crash
   * between the two writes) are written into RxDB.
   */
  async watch(replication: Replication): Promise<void> {
    this.watching?.unsubscribe();
    await this.drain(replication);
    await this.repair();
    const changes = Object.values(this.options.collections).map((c) => c.$);
    this.watching = merge(...changes)
      .pipe(debounceTime(0))
      .subscribe(() => {
        this.draining = this.draining.then(() => this.drain(replication)).catch(() => undefined);
      });
  }

  /** Reads RxDB's change feed from the stored checkpoint and hands the app's own writes to the replication. */
  private async drain(replication: Replication): Promise<void> {
    const { namespace: ns, meta, collections } = this.options;
    const limit = this.options.batchSize ?? 200;
    for (const [name, collection] of Object.entries(collections)) {
      const key = `rxdb-checkpoint:${JSON.stringify([ns.account, ns.app, name])}`;
      let checkpoint = await meta.getDeviceValue<RxCheckpoint>(key);
      for (;;) {
        const page = await getChangedDocumentsSince(collection.storageInstance, limit, checkpoint as never);
        for (const raw of page.documents) {
          const primary = collection.schema.primaryPath;
          const id = String((raw as Record<string, unknown>)[primary]);
          const data = raw._deleted ? null : toData(raw as Record<string, unknown>, primary);
          const [known] = await meta.getDocuments(ns, [{ collection: name, id }]);
          if (jsonEqual(known?.data ?? null, data)) continue; // Hokan's own write coming back, or no change
          if (data === null) await replication.delete(name, id);
          else await replication.put(name, id, data);
        }
        checkpoint = page.checkpoint;
        await meta.setDeviceValue(key, checkpoint);
        if (page.documents.length < limit) break;
      }
    }
  }

  /** Writes into RxDB every document whose Hokan copy RxDB does not have (an interrupted commit). */
  private async repair(): Promise<void> {
    const { namespace: ns, meta, collections } = this.options;
    for (const [name, collection] of Object.entries(collections)) {
      const docs = await meta.listDocuments(ns, name);
      for (const doc of docs) {
        const current = await collection.findOne(doc.id).exec();
        const data = current
          ? toData(current.toJSON() as Record<string, unknown>, collection.schema.primaryPath)
          : null;
        if (!jsonEqual(data, doc.data)) await this.mirror(doc, data);
      }
    }
  }

  /**
   * Writes Hokan's state of a document into RxDB, unless the app changed it there since `expected` (then the app's
   * version stands, and the change feed hands it to the replication as a local change).
   */
  private async mirror(doc: LocalDocument, expected: JsonObject | null): Promise<void> {
    const collection = this.options.collections[doc.collection];
    if (!collection) return;
    const primary = collection.schema.primaryPath;
    const current = await collection.findOne(doc.id).exec();
    if (doc.data === null) {
      if (current && jsonEqual(toData(current.toJSON() as Record<string, unknown>, primary), expected)) {
        await current.incrementalRemove();
      }
      return;
    }
    const next = { ...doc.data, [primary]: doc.id };
    if (!current) {
      await collection.insert(next).catch(() => undefined); // the app inserted it meanwhile: its version stands
      return;
    }
    await current.incrementalModify((latest: Record<string, unknown>) => {
      const now = toData(latest, primary);
      return jsonEqual(now, expected) || jsonEqual(now, doc.data) ? (next as typeof latest) : latest;
    });
  }
}

/** The app's document as Hokan data: RxDB's own fields and the primary key (it is the document id) left out. */
function toData(raw: Record<string, unknown>, primary: string): JsonObject {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (!RX_FIELDS.has(k) && k !== primary) out[k] = v;
  return out as JsonObject;
}
