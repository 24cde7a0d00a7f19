import { HokanError } from "../errors.js";
import {
  type DeviceValues,
  type DocumentKey,
  INITIAL_SYNC_STATE,
  type LocalDocument,
  type LocalStore,
  mergeSyncState,
  type Namespace,
  type OutboxEntry,
  type StoreCommit,
  type SyncState,
} from "../ports.js";

interface NamespaceData {
  readonly documents: Map<string, LocalDocument>;
  readonly outbox: Map<number, OutboxEntry>;
  /** Outbox seqs by document, so reading a document's entries does not scan the outbox. */
  readonly byDoc: Map<string, Set<number>>;
  sync: SyncState | undefined;
  /** The outbox map iterates in seq order unless an entry was put below the highest seq ({@link lastSeq}). */
  outOfOrder?: boolean;
  lastSeq?: number;
}

// Keys of the store's maps: length-prefixed, so no two names make the same key (and cheaper than JSON per lookup).
const nsKey = (ns: Namespace): string => `${ns.account.length}:${ns.account}${ns.app}`;
const docKey = (k: DocumentKey): string => `${k.collection.length}:${k.collection}${k.id}`;

/**
 * A {@link LocalStore} in memory: the reference implementation of the port, and what simulated devices keep across
 * their restarts. Records are copied on the way in and frozen, and handed out as they are: no caller can change
 * stored state, by accident or otherwise (a write to a record it read throws a `TypeError`), and a read costs no copy.
 */
export class MemoryStore implements LocalStore, DeviceValues {
  /** An acknowledgement gives a stored document a new base around its own frozen data: nothing of it is copied. */
  readonly acknowledgements = true;
  private readonly spaces = new Map<string, NamespaceData>();
  private readonly deviceValues = new Map<string, unknown>();

  async getDeviceValue<T>(key: string): Promise<T | undefined> {
    const value = this.deviceValues.get(key) as T | undefined;
    return value === undefined ? undefined : structuredClone(value);
  }

  async setDeviceValue(key: string, value: unknown): Promise<void> {
    this.deviceValues.set(key, structuredClone(value));
  }
  private closed = false;

  async getDocuments(ns: Namespace, keys: readonly DocumentKey[]): Promise<(LocalDocument | undefined)[]> {
    const space = this.read(ns);
    return keys.map((k) => space?.documents.get(docKey(k)));
  }

  async listDocuments(ns: Namespace, collection?: string): Promise<LocalDocument[]> {
    const docs = [...(this.read(ns)?.documents.values() ?? [])];
    return collection === undefined ? docs : docs.filter((d) => d.collection === collection);
  }

  async readOutbox(
    ns: Namespace,
    limit = Number.POSITIVE_INFINITY,
    after = Number.NEGATIVE_INFINITY,
  ): Promise<OutboxEntry[]> {
    const space = this.read(ns);
    if (!space) return [];
    if (space.outOfOrder) {
      const sorted = [...space.outbox.values()].sort((a, b) => a.seq - b.seq);
      space.outbox.clear();
      for (const e of sorted) space.outbox.set(e.seq, e);
      space.outOfOrder = false;
    }
    // The map iterates in seq order: take the first `limit` without sorting the whole outbox per read.
    const out: OutboxEntry[] = [];
    for (const e of space.outbox.values()) {
      if (out.length >= limit) break;
      if (e.seq > after) out.push(e);
    }
    return out;
  }

  async outboxFor(ns: Namespace, keys: readonly DocumentKey[]): Promise<OutboxEntry[]> {
    const space = this.read(ns);
    if (!space) return [];
    const seqs = new Set(keys.flatMap((k) => [...(space.byDoc.get(docKey(k)) ?? [])]));
    const entries = [...seqs].map((s) => space.outbox.get(s) as OutboxEntry);
    return entries.sort((a, b) => a.seq - b.seq);
  }

  async countOutbox(ns: Namespace): Promise<number> {
    return this.read(ns)?.outbox.size ?? 0;
  }

  async getSync(ns: Namespace): Promise<SyncState | undefined> {
    return this.read(ns)?.sync;
  }

  async commit(ns: Namespace, change: StoreCommit): Promise<number[]> {
    this.open();
    // Copy (and so validate) everything before touching stored state: a commit applies whole or not at all.
    let prepared: StoreCommit;
    try {
      prepared = frozenCopy(change);
    } catch (error) {
      throw new HokanError("storage", "commit holds a value that cannot be stored", {
        cause: error,
        retryable: false,
      });
    }
    const space = this.space(ns);
    let sync = prepared.sync ? mergeSyncState(space.sync, prepared.sync) : space.sync;
    if (prepared.clearOutbox) {
      space.outbox.clear();
      space.byDoc.clear();
    }
    for (const seq of prepared.outboxDelete ?? []) removeEntry(space, seq);
    const fresh: number[] = [];
    for (const e of prepared.outboxPut ?? []) {
      if (e.seq > 0) {
        putEntry(space, e);
        continue;
      }
      const base = sync ?? INITIAL_SYNC_STATE;
      putEntry(space, Object.freeze({ ...e, seq: base.nextSeq }));
      fresh.push(base.nextSeq);
      sync = { ...base, nextSeq: base.nextSeq + 1 };
    }
    for (const d of prepared.documents ?? []) space.documents.set(docKey(d), d);
    for (const a of prepared.acknowledged ?? []) {
      const k = docKey(a);
      const stored = space.documents.get(k);
      if (stored === undefined || stored.hlc !== a.hlc) continue;
      const base = Object.freeze({ rev: a.rev, data: stored.data, hlc: a.hlc, changeId: a.changeId });
      space.documents.set(k, Object.freeze({ ...stored, base }));
    }
    space.sync = sync && Object.freeze(sync);
    return fresh;
  }

  async dropNamespace(ns: Namespace): Promise<void> {
    this.open();
    this.spaces.delete(nsKey(ns));
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Opens again after {@link close} (a simulated device restart keeps its store). */
  reopen(): void {
    this.closed = false;
  }

  private read(ns: Namespace): NamespaceData | undefined {
    this.open();
    return this.spaces.get(nsKey(ns));
  }

  private space(ns: Namespace): NamespaceData {
    const key = nsKey(ns);
    let space = this.spaces.get(key);
    if (!space) {
      space = { documents: new Map(), outbox: new Map(), byDoc: new Map(), sync: undefined };
      this.spaces.set(key, space);
    }
    return space;
  }

  private open(): void {
    if (this.closed) throw new HokanError("storage", "the store is closed");
  }
}

function removeEntry(space: NamespaceData, seq: number): void {
  const e = space.outbox.get(seq);
  if (!e) return;
  space.outbox.delete(seq);
  space.byDoc.get(docKey(e))?.delete(seq);
}

function putEntry(space: NamespaceData, e: OutboxEntry): void {
  const previous = space.outbox.get(e.seq);
  if (previous) space.byDoc.get(docKey(previous))?.delete(e.seq);
  else if (space.outbox.size > 0 && e.seq < (space.lastSeq ?? 0)) space.outOfOrder = true;
  // Replacing an entry keeps its place in the map; a new one goes last (seqs only grow).
  space.outbox.set(e.seq, e);
  space.lastSeq = Math.max(space.lastSeq ?? 0, e.seq);
  const k = docKey(e);
  const set = space.byDoc.get(k) ?? new Set<number>();
  set.add(e.seq);
  space.byDoc.set(k, set);
}

/**
 * A deep copy of a record (plain objects, arrays and JSON primitives), frozen all the way down: what the store keeps
 * and hands out. It refuses what IndexedDB could not store either, and is several times faster than `structuredClone`
 * for JSON-shaped records (benchmarks/).
 */
function frozenCopy<T>(value: T): T {
  switch (typeof value) {
    case "function":
    case "symbol":
      throw new TypeError(`a ${typeof value} cannot be stored`);
    case "object": {
      if (value === null) return value;
      if (Array.isArray(value)) return Object.freeze(value.map(frozenCopy)) as T;
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(value)) out[key] = frozenCopy((value as Record<string, unknown>)[key]);
      return Object.freeze(out) as T;
    }
    default:
      return value;
  }
}
