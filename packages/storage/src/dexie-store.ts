import {
  type Acknowledgement,
  type DocumentKey,
  INITIAL_SYNC_STATE,
  type LocalDocument,
  type LocalStore,
  mergeSyncState,
  type Namespace,
  type OutboxEntry,
  type StoreCommit,
  type SyncState,
} from "@hokan/core";
import { Dexie, type Table } from "dexie";
import { isClosed, toStorageError } from "./errors.js";

type DocumentRow = LocalDocument & { readonly ns: string };
type OutboxRow = OutboxEntry & { readonly ns: string };
type SyncRow = SyncState & { readonly ns: string };
interface CountRow {
  readonly ns: string;
  readonly outbox: number;
  /** Names the namespace's acknowledgements as last changed (a fresh id each time); absent while it has none. */
  readonly acks?: string;
}
/** An acknowledgement as kept: the document's key, and the write's HLC, revision and change id. */
type Ack = readonly [key: string, hlc: string, rev: number, changeId: string];
/** The acknowledgements of one commit. */
interface AckRow {
  readonly ns: string;
  readonly batch: number;
  readonly acks: readonly Ack[];
}
/**
 * A namespace's acknowledgements, by document key, each with the row (`batch`) that keeps it: a document's base is
 * the one its acknowledgement names while the document holds that write. A commit that writes a document takes its
 * acknowledgement out. Kept in memory, named by the counts row's `acks` (another tab's change gives a new name, and
 * the log is read again).
 */
interface AckLog {
  readonly version: string | undefined;
  readonly byKey: ReadonlyMap<string, { readonly batch: number; readonly ack: Ack }>;
}
const NO_ACKS: AckLog = { version: undefined, byKey: new Map() };
interface DeviceRow {
  readonly key: string;
  readonly value: unknown;
}

/** Options of {@link DexieStore}. */
export interface DexieStoreOptions {
  /** Database name (default `hokan`). One database holds every account and app of the origin. */
  readonly name?: string;
  /** The IndexedDB to use (default the global one; `fake-indexeddb` in Node). */
  readonly indexedDB?: IDBFactory;
  readonly IDBKeyRange?: typeof IDBKeyRange;
}

class HokanDatabase extends Dexie {
  documents!: Table<DocumentRow, [string, string, string]>;
  outbox!: Table<OutboxRow, [string, number]>;
  sync!: Table<SyncRow, string>;
  device!: Table<DeviceRow, string>;
  counts!: Table<CountRow, string>;
  acks!: Table<AckRow, [string, number]>;

  constructor(options: DexieStoreOptions) {
    super(options.name ?? "hokan", {
      ...(options.indexedDB ? { indexedDB: options.indexedDB } : {}),
      ...(options.IDBKeyRange ? { IDBKeyRange: options.IDBKeyRange } : {}),
    });
    // A fixed set of tables for any number of accounts and apps: every key starts with the namespace.
    this.version(1).stores({
      documents: "[ns+collection+id], [ns+collection]",
      outbox: "[ns+seq], [ns+collection+id]",
      sync: "ns",
      device: "key",
    });
    // Version 2 keeps each namespace's outbox size: counting a range walks every entry (in browsers as in
    // fake-indexeddb), and the engine asks after every push.
    this.version(2).stores({ counts: "ns" });
    // Version 3 drops the documents' [ns+collection] index: the primary key starts with the same two parts, so a
    // collection is a range of it, and every document write no longer updates a second tree (benchmarks/).
    this.version(3).stores({ documents: "[ns+collection+id]" });
    // Version 4 keeps a push's acknowledgements in one row per answer (DexieStore.acknowledgements), not in a write
    // per document.
    this.version(4).stores({ acks: "[ns+batch]" });
  }
}

const nsKey = (ns: Namespace): string => JSON.stringify([ns.account, ns.app]);
const docKeyOf = (k: DocumentKey): string => JSON.stringify([k.collection, k.id]);

function strip<T extends { ns: string }>(row: T): Omit<T, "ns"> {
  const { ns: _, ...rest } = row;
  return rest;
}

/**
 * Hokan's own store on IndexedDB through Dexie: documents, outbox, sync state and device settings of every account
 * and app in one database, with each commit one IndexedDB transaction across the tables it touches.
 *
 * @remarks
 * A connection the browser closed (a backgrounded tab, storage pressure) is reopened and the operation tried once
 * more; a full disk becomes a `quota` error and changes nothing.
 *
 * @example
 * ```ts
 * const store = new DexieStore();                   // in a browser or webview
 * const store = new DexieStore({ indexedDB, IDBKeyRange }); // in Node, with fake-indexeddb
 * ```
 */
export class DexieStore implements LocalStore {
  /**
   * A push's answer is kept as one row of acknowledgements, not a write per document: in a browser each `put` is a
   * request of its own (`docs/performance.md`).
   */
  readonly acknowledgements = true;
  private readonly db: HokanDatabase;
  private closedByUs = false;
  /** Each namespace's acknowledgements as this store last read or wrote them. */
  private readonly ackLogs = new Map<string, AckLog>();
  /** Names this store's changes to the acknowledgements (with a count): unique across tabs and commits. */
  private readonly ackName = Math.random().toString(36).slice(2);
  private ackNames = 0;

  constructor(options: DexieStoreOptions = {}) {
    this.db = new HokanDatabase(options);
  }

  getDocuments(ns: Namespace, keys: readonly DocumentKey[]): Promise<(LocalDocument | undefined)[]> {
    const n = nsKey(ns);
    return this.readDocuments(
      "read documents",
      n,
      async () =>
        (keys.length >= RANGE_READ_MIN ? await this.readAsRange(n, keys) : undefined) ??
        (await this.db.documents.bulkGet(keys.map((k) => [n, k.collection, k.id]))),
    );
  }

  /** Documents of namespace `n` as `read` reads them, each with the base its acknowledgement gives it. */
  private readDocuments(
    what: string,
    n: string,
    read: () => Promise<(DocumentRow | undefined)[]>,
  ): Promise<(LocalDocument | undefined)[]> {
    const { documents, counts, acks } = this.db;
    return this.run(what, () =>
      this.db.transaction("r", [documents, counts, acks], async () => {
        // The counts row beside the documents, not before them: one more request, no more waiting.
        const [counted, rows] = await Promise.all([counts.get(n), read()]);
        const log = await this.ackLog(n, counted);
        return rows.map((row) => row && withBase(strip(row), log));
      }),
    );
  }

  /** The acknowledgements of namespace `n` whose counts row is `counted`, read in the caller's transaction. */
  private async ackLog(n: string, counted: CountRow | undefined): Promise<AckLog> {
    const version = counted?.acks;
    if (version === undefined) return NO_ACKS;
    const cached = this.ackLogs.get(n);
    if (cached?.version === version) return cached;
    const byKey = new Map<string, { batch: number; ack: Ack }>();
    for (const { batch, acks } of await this.acksOf(n).toArray())
      for (const ack of acks) byKey.set(ack[0], { batch, ack });
    const log = { version, byKey };
    this.ackLogs.set(n, log);
    return log;
  }

  /**
   * Writes a commit's acknowledgements and takes out those of the documents it writes whole, in the commit's
   * transaction; resolves with the log after the commit, for the cache once the commit is done.
   */
  private async writeAcks(
    n: string,
    counted: CountRow | undefined,
    written: readonly LocalDocument[],
    acknowledged: readonly Acknowledgement[],
  ): Promise<AckLog> {
    const log = await this.ackLog(n, counted);
    // A local write of documents none of which is acknowledged changes nothing here: no copy of the log.
    if (acknowledged.length === 0 && !written.some((d) => log.byKey.has(docKeyOf(d)))) return log;
    const byKey = new Map(log.byKey);
    let next = 1;
    for (const { batch } of byKey.values()) next = Math.max(next, batch + 1);
    /** Rows whose acknowledgements changed. */
    const changed = new Set<number>();
    const takeOut = (key: string) => {
      const kept = byKey.get(key);
      if (kept && byKey.delete(key)) changed.add(kept.batch);
    };
    for (const d of written) takeOut(docKeyOf(d));
    for (const a of acknowledged) {
      const key = docKeyOf(a);
      takeOut(key);
      byKey.set(key, { batch: next, ack: [key, a.hlc, a.rev, a.changeId] });
      changed.add(next);
    }
    const rows = new Map([...changed].map((batch) => [batch, [] as Ack[]]));
    for (const { batch, ack } of byKey.values()) rows.get(batch)?.push(ack);
    for (const [batch, acks] of rows)
      await (acks.length > 0 ? this.db.acks.put({ ns: n, batch, acks }) : this.db.acks.delete([n, batch]));
    return { version: byKey.size > 0 ? `${this.ackName}:${++this.ackNames}` : undefined, byKey };
  }

  /**
   * The documents of `keys` read as the one key range from the lowest to the highest, when that range holds at most
   * twice as many documents (asked for their keys first): two requests instead of one per document. A push batch, a
   * pulled page and a bulk write mostly hold neighbouring documents; in Chromium, one `get` per document was the
   * largest part of a push after the writes. `undefined` when the range is sparse.
   */
  private readAsRange(
    n: string,
    keys: readonly DocumentKey[],
  ): Promise<(DocumentRow | undefined)[] | undefined> {
    let low = keys[0] as DocumentKey;
    let high = low;
    for (const k of keys) {
      if (keyBefore(k, low)) low = k;
      if (keyBefore(high, k)) high = k;
    }
    const { documents } = this.db;
    const range = () =>
      documents
        .where("[ns+collection+id]")
        .between([n, low.collection, low.id], [n, high.collection, high.id], true, true);
    return this.db.transaction("r", documents, async () => {
      const most = 2 * keys.length;
      const inRange = await range()
        .limit(most + 1)
        .primaryKeys();
      if (inRange.length > most) return undefined;
      const byKey = new Map((await range().toArray()).map((row) => [docKeyOf(row), row]));
      return keys.map((k) => byKey.get(docKeyOf(k)));
    });
  }

  listDocuments(ns: Namespace, collection?: string): Promise<LocalDocument[]> {
    const n = nsKey(ns);
    return this.readDocuments("list documents", n, () =>
      collection === undefined
        ? this.documentsOf(n).toArray()
        : this.db.documents
            .where("[ns+collection+id]")
            .between([n, collection, Dexie.minKey], [n, collection, Dexie.maxKey])
            .toArray(),
    ) as Promise<LocalDocument[]>;
  }

  readOutbox(ns: Namespace, limit?: number, after?: number): Promise<OutboxEntry[]> {
    const n = nsKey(ns);
    return this.run("read the outbox", async () => {
      const range = this.db.outbox
        .where("[ns+seq]")
        .between([n, after ?? Dexie.minKey], [n, Dexie.maxKey], after === undefined);
      const rows = await (limit === undefined ? range : range.limit(limit)).toArray();
      return rows.map(strip);
    });
  }

  outboxFor(ns: Namespace, keys: readonly DocumentKey[]): Promise<OutboxEntry[]> {
    const n = nsKey(ns);
    return this.run("read the outbox", async () => {
      if (keys.length === 0) return [];
      const { outbox, counts } = this.db;
      const lists = await this.db.transaction("r", [outbox, counts], async () => {
        // An outbox no larger than the question (empty, as on a device restoring its backup) is read whole, in one
        // request: one lookup per document cost Chromium about 0.2 ms each, most of a restore's page.
        const size = (await counts.get(n))?.outbox;
        if (size !== undefined && size <= keys.length) {
          const wanted = new Set(keys.map(docKeyOf));
          const all = await this.outboxOf(n).toArray();
          return [all.filter((e) => wanted.has(docKeyOf(e)))];
        }
        // Otherwise one exact-key lookup per document: `anyOf` walks a cursor that jumps from key to key, several
        // times slower for a batch of hundreds (benchmarks/, fake-indexeddb and Chromium alike).
        return Promise.all(
          keys.map((k) => outbox.where("[ns+collection+id]").equals([n, k.collection, k.id]).toArray()),
        );
      });
      return lists
        .flat()
        .sort((a, b) => a.seq - b.seq)
        .map(strip);
    });
  }

  countOutbox(ns: Namespace): Promise<number> {
    const n = nsKey(ns);
    return this.run("count the outbox", async () => {
      const kept = await this.db.counts.get(n);
      return kept?.outbox ?? this.countRange(n);
    });
  }

  /** Every document of a namespace (`n` is its key); inside a transaction, part of it. */
  private documentsOf(n: string) {
    return this.db.documents
      .where("[ns+collection+id]")
      .between([n, Dexie.minKey, Dexie.minKey], [n, Dexie.maxKey, Dexie.maxKey]);
  }

  /** Every acknowledgements row of a namespace (`n` is its key). */
  private acksOf(n: string) {
    return this.db.acks.where("[ns+batch]").between([n, Dexie.minKey], [n, Dexie.maxKey]);
  }

  /** Every outbox entry of a namespace (`n` is its key), in seq order; inside a transaction, part of it. */
  private outboxOf(n: string) {
    return this.db.outbox.where("[ns+seq]").between([n, Dexie.minKey], [n, Dexie.maxKey]);
  }

  private countRange(n: string): Promise<number> {
    return this.outboxOf(n).count();
  }

  getSync(ns: Namespace): Promise<SyncState | undefined> {
    return this.run("read sync state", async () => {
      const row = await this.db.sync.get(nsKey(ns));
      return row ? strip(row) : undefined;
    });
  }

  commit(ns: Namespace, change: StoreCommit): Promise<number[]> {
    const n = nsKey(ns);
    const { documents, outbox, sync, counts, acks } = this.db;
    return this.run("commit", async () => {
      let log: AckLog | undefined;
      const seqs = await this.db.transaction("rw", [documents, outbox, sync, counts, acks], async () => {
        const counted = await counts.get(n);
        const kept = change.clearOutbox ? undefined : counted;
        let size = change.clearOutbox ? 0 : (kept?.outbox ?? (await this.countRange(n)));
        if (change.clearOutbox) {
          await this.outboxOf(n).delete();
        }
        // Keep the outbox size: entries that existed go, entries that did not arrive (new ones are numbered here).
        // Each run of nearby seqs is looked at by its keys alone (reading the entries would copy every value).
        const present = async (first: number, last: number, wanted: ReadonlySet<number>) => {
          const range = outbox.where("[ns+seq]").between([n, first], [n, last], true, true);
          const keys = await range.primaryKeys();
          return { range, all: keys.length, found: keys.filter((key) => wanted.has(key[1])) };
        };
        const existing = async (seqs: readonly number[]) => {
          const wanted = new Set(seqs);
          let found = 0;
          for (const [first, last] of seqRuns(seqs))
            found += (await present(first, last, wanted)).found.length;
          return found;
        };
        if (change.outboxDelete?.length) {
          // A run that holds nothing else goes in one request (a push's answer deletes its whole batch: one request
          // for 500 entries instead of 500 in Chromium); otherwise entry by entry.
          const wanted = new Set(change.outboxDelete);
          for (const [first, last] of seqRuns(change.outboxDelete)) {
            const run = await present(first, last, wanted);
            size -= run.found.length;
            if (run.found.length === 0) continue;
            if (run.found.length === run.all) await run.range.delete();
            else await inSteps(run.found, (part) => outbox.bulkDelete([...part]));
          }
        }
        const numbered = (change.outboxPut ?? []).filter((e) => e.seq > 0).map((e) => e.seq);
        size += (change.outboxPut?.length ?? 0) - (await existing(numbered));
        const fresh = change.outboxPut?.some((e) => e.seq <= 0) ?? false;
        const numberedHere: number[] = [];
        if (change.sync || fresh) {
          // Read and write the sync row in this transaction: IndexedDB serialises it with every other tab's.
          const stored = await sync.get(n);
          const current = stored ? strip(stored) : undefined;
          let next: SyncState = change.sync
            ? mergeSyncState(current, change.sync)
            : (current ?? INITIAL_SYNC_STATE);
          const rows = (change.outboxPut ?? []).map((e) => {
            if (e.seq > 0) return { ...e, ns: n };
            const row = { ...e, seq: next.nextSeq, ns: n };
            numberedHere.push(next.nextSeq);
            next = { ...next, nextSeq: next.nextSeq + 1 };
            return row;
          });
          await inSteps(rows, (part) => outbox.bulkPut(part));
          await sync.put({ ...next, ns: n });
        } else if (change.outboxPut?.length) {
          await inSteps(change.outboxPut, (part) => outbox.bulkPut(part.map((e) => ({ ...e, ns: n }))));
        }
        await inSteps(change.documents ?? [], (part) =>
          documents.bulkPut(part.map((d) => ({ ...d, ns: n }))),
        );
        // The acknowledgements change with new ones, or with documents written whole while some are kept.
        const written = change.documents ?? [];
        const acknowledged = change.acknowledged ?? [];
        if (acknowledged.length > 0 || (written.length > 0 && counted?.acks !== undefined))
          log = await this.writeAcks(n, counted, written, acknowledged);
        const acksVersion = log ? log.version : counted?.acks;
        await counts.put({
          ns: n,
          outbox: size,
          ...(acksVersion === undefined ? {} : { acks: acksVersion }),
        });
        return numberedHere;
      });
      if (log) this.ackLogs.set(n, log);
      return seqs;
    });
  }

  dropNamespace(ns: Namespace): Promise<void> {
    const n = nsKey(ns);
    const { documents, outbox, sync, counts, acks } = this.db;
    return this.run("drop a namespace", async () => {
      await this.db.transaction("rw", [documents, outbox, sync, counts, acks], async () => {
        await counts.delete(n);
        await this.documentsOf(n).delete();
        await this.outboxOf(n).delete();
        await this.acksOf(n).delete();
        await sync.delete(n);
      });
      this.ackLogs.delete(n);
    });
  }

  /** A device-level value (such as the device settings), shared by every account and app. */
  getDeviceValue<T>(key: string): Promise<T | undefined> {
    return this.run(
      "read a device value",
      async () => (await this.db.device.get(key))?.value as T | undefined,
    );
  }

  /** Stores a device-level value. */
  setDeviceValue(key: string, value: unknown): Promise<void> {
    return this.run("store a device value", async () => {
      await this.db.device.put({ key, value });
    });
  }

  async close(): Promise<void> {
    this.closedByUs = true;
    this.db.close();
  }

  /**
   * Runs an operation; if the browser closed the connection under us, reopens it and tries once more. Every failure
   * leaves as a typed error.
   */
  private async run<T>(what: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (error) {
      if (this.closedByUs || !isClosed(error)) throw toStorageError(error, what);
      try {
        this.db.close();
        await this.db.open();
        return await op();
      } catch (again) {
        throw toStorageError(again, what);
      }
    }
  }
}

/** `d` with the base its acknowledgement names, if it still holds the write acknowledged. */
function withBase(d: LocalDocument, log: AckLog): LocalDocument {
  const ack = log.byKey.size > 0 ? log.byKey.get(docKeyOf(d))?.ack : undefined;
  return ack?.[1] === d.hlc
    ? { ...d, base: { rev: ack[2], data: d.data, hlc: ack[1], changeId: ack[3] } }
    : d;
}

/** Reads of fewer documents go key by key ({@link DexieStore.readAsRange} costs two requests whatever the size). */
const RANGE_READ_MIN = 32;

/** IndexedDB's order of document keys: by collection, then id (strings compare by UTF-16 code unit, as in JS). */
function keyBefore(a: DocumentKey, b: DocumentKey): boolean {
  return a.collection < b.collection || (a.collection === b.collection && a.id < b.id);
}

/** The widest gap inside one run of {@link seqRuns}: a run reads at most this many keys it was not asked about. */
const RUN_GAP = 64;

/**
 * Sorted `seqs` as runs `[first, last]`, a new run wherever two neighbours are more than {@link RUN_GAP} apart: the
 * keys of each run's range are few more than the seqs asked about, however the seqs are spread.
 */
export function seqRuns(seqs: readonly number[]): [number, number][] {
  const sorted = [...seqs].sort((a, b) => a - b);
  const runs: [number, number][] = [];
  for (const seq of sorted) {
    const run = runs.at(-1);
    if (run && seq - run[1] <= RUN_GAP) run[1] = seq;
    else runs.push([seq, seq]);
  }
  return runs;
}

/** Rows per bulk request inside one transaction (see {@link inSteps}). */
const STEP = 1000;

/**
 * Runs a bulk operation over `items` a step at a time, inside the caller's transaction (so still all or nothing):
 * fake-indexeddb shifts its request queue per request, so one bulk call of 100,000 rows cost seconds (quadratic);
 * browsers are as fast either way.
 */
async function inSteps<T>(items: readonly T[], op: (part: readonly T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += STEP) await op(items.slice(i, i + STEP));
}
