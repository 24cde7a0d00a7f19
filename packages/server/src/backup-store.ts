import {
  type AppScope,
  type Catalog,
  type CatalogEntry,
  checkCheckpoint,
  checkPush,
  checkQuota,
  type DeleteResult,
  decidePush,
  HokanError,
  type JsonObject,
  LIVE_NOTICE_BYTES,
  liveDocuments,
  measureChanges,
  type PullRequest,
  type PullResponse,
  type PushRequest,
  type PushResponse,
  pageLength,
  planPull,
  pushFingerprint,
  type RegistryEntry,
  type ServerDocument,
  type ServerLimits,
  type SkippedApp,
} from "@hokan/core";
import { binaryTextArray } from "./binary-array.js";
import type { Database, Sql } from "./database.js";

/** The channel server processes tell each other about changes on (PostgreSQL NOTIFY). */
export const LIVE_CHANNEL = "hokan_live";

/** A change announced on {@link LIVE_CHANNEL}; a small one carries its documents (see `LiveEvent`). */
export interface LiveNotice {
  readonly account: string;
  readonly appId: string;
  readonly type: "changed" | "deleted";
  readonly epoch: number;
  readonly seq: number;
  readonly after?: number;
  readonly documents?: readonly ServerDocument[];
  /** When the sending process sent it (ms since epoch, its clock): the receiver measures the bus's lag. */
  readonly at?: number;
}

/** The NOTIFY payload of a push's notice: with its documents when they fit PostgreSQL's payload limit. */
function noticePayload(
  notice: LiveNotice,
  writes: Parameters<typeof liveDocuments>[0],
  after: number,
): string {
  const documents = liveDocuments(writes);
  if (documents) {
    const full = JSON.stringify({ ...notice, after, documents });
    if (Buffer.byteLength(full) <= LIVE_NOTICE_BYTES) return full;
  }
  return JSON.stringify(notice);
}

interface DocRow {
  collection: string;
  id: string;
  data: JsonObject | null;
  rev: number | string;
  seq: number | string;
  hlc: string;
  change_id: string;
  updated_at: number | string;
  schema_version: number;
  bytes: number;
  is_default: boolean;
}

interface AppRow {
  epoch: number;
  seq: number | string;
  documents: number;
  bytes: number | string;
}

function toDocument(r: DocRow): ServerDocument {
  return {
    collection: r.collection,
    id: r.id,
    data: r.data,
    rev: Number(r.rev),
    seq: Number(r.seq),
    hlc: r.hlc,
    changeId: r.change_id,
    updatedAt: Number(r.updated_at),
    schemaVersion: r.schema_version,
    ...(r.is_default ? { kind: "default" as const } : {}),
  };
}

const DOC_COLUMNS =
  "collection, id, data, rev, seq, hlc, change_id, updated_at, schema_version, bytes, is_default";

/** A pull page's row: the app's row, and a document with its data as JSON text (all `null` when the page is empty). */
type PageRow = { app_epoch: number | null; app_seq: string | null; seq: string | null } & Omit<
  DocRow,
  "data" | "seq"
> & { data: string | null };

/**
 * One statement for a pull page: the app's row and the page's candidates after `$3` in feed order, with no
 * transaction around it (one statement reads one snapshot). A document's data comes as PostgreSQL's JSON text,
 * spliced into the answer as it is. Candidates are at most `$4`, and only those whose predecessors' bytes are within
 * `$5` (and the first two whatever their size): {@link pageLength} then picks the page from them, and any candidate left
 * over means `more`. So the database never sends a page's worth of documents past the byte limit.
 */
const PULL_PAGE = `SELECT app.epoch AS app_epoch, app.seq AS app_seq, d.*
  FROM (SELECT 1) AS one
  LEFT JOIN apps AS app ON app.account_id = $1 AND app.app_id = $2
  LEFT JOIN LATERAL (
    SELECT ${DOC_COLUMNS.replace("data", "data::text AS data")} FROM (
      SELECT *, row_number() OVER w AS n, sum(bytes) OVER w - bytes AS before FROM documents
      WHERE account_id = $1 AND app_id = $2 AND seq > $3
      WINDOW w AS (ORDER BY seq ROWS UNBOUNDED PRECEDING)
      ORDER BY seq LIMIT $4
    ) AS c WHERE c.n <= 2 OR c.before <= $5
  ) AS d ON true
  ORDER BY d.seq`;

/**
 * A pull's answer as UTF-8 JSON: its head, and each document with its data spliced in as the database's JSON text. The
 * fields of {@link ServerDocument} are written out by hand (as `toDocument` reads them): a page holds up to 5,000.
 * Each document is encoded on its own and the bytes are joined once: one string of the whole page was a rope of tens
 * of thousands of pieces, and flattening it to measure and encode the answer cost four times as much (benchmarks/).
 */
function pageJson(head: Omit<PullResponse, "documents">, page: readonly PageRow[]): Buffer {
  const text = JSON.stringify;
  const parts: Buffer[] = [Buffer.from(`${text(head).slice(0, -1)},"documents":[`)];
  for (const [i, r] of page.entries()) {
    parts.push(
      Buffer.from(
        `${i === 0 ? "" : ","}{"collection":${text(r.collection)},"id":${text(r.id)},"data":${r.data ?? "null"},` +
          `"rev":${Number(r.rev)},"seq":${Number(r.seq)},"hlc":${text(r.hlc)},"changeId":${text(r.change_id)},` +
          `"updatedAt":${Number(r.updated_at)},"schemaVersion":${Number(r.schema_version)}` +
          `${r.is_default ? ',"kind":"default"' : ""}}`,
      ),
    );
  }
  parts.push(Buffer.from("]}"));
  return Buffer.concat(parts);
}

/** Whether `error` is the database refusing a second answer for one idempotency key (a retry that raced its push). */
function isDuplicateAnswer(error: unknown): boolean {
  const e = error as { code?: unknown; constraint?: unknown; message?: unknown } | null;
  return (
    e?.code === "23505" &&
    (e.constraint === "push_answers_pkey" || String(e.message ?? "").includes("push_answers_pkey"))
  );
}

/** Pushes of one app that may hold a database connection at once in one server process (see `BackupStore.push`). */
const PUSH_CONNECTIONS_PER_APP = 2;

/** Options of {@link BackupStore}. */
export interface BackupStoreOptions {
  readonly limits: ServerLimits;
  /** Bytes one account may keep per app (default unlimited). */
  readonly quotaBytes?: number;
  /** Server time (ms). */
  readonly now?: () => number;
  /**
   * How long a push's answer is kept for a retry under its idempotency key (default 7 days). A retry after that is
   * applied as a new push, where every change already applied is known by its change id and applied no second time.
   */
  readonly answerTtlMs?: number;
  /** Told the number of documents of each page a pull answers (metrics). */
  readonly onPulled?: (documents: number) => void;
  /**
   * A bus outside the database: each notice is handed here once its transaction committed, and the database sends
   * none (no `NOTIFY`). Without it, notices go by `NOTIFY` in the committing transaction.
   */
  readonly publish?: (account: string, payload: string) => void;
}

/** How often expired answers are cleared, at most. */
const PURGE_EVERY_MS = 10 * 60_000;

/**
 * Backups in SQL: every query is keyed by account first; the decisions are core's (`decideChange`, `planPull`).
 */
export class BackupStore {
  private readonly now: () => number;

  private analysing: Promise<void> | undefined;

  /** Pushes holding a connection, and those waiting for a turn, per account and app in this process. */
  private readonly appTurns = new Map<string, { active: number; waiting: (() => void)[] }>();

  constructor(
    private readonly db: Database,
    private readonly options: BackupStoreOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  private lastPurge = Number.NEGATIVE_INFINITY;
  private purging: Promise<void> = Promise.resolve();

  /** Clears the answers kept past their time, at most every few minutes, beside the pushes (never inside one). */
  private purgeAnswers(): void {
    const now = this.now();
    if (now - this.lastPurge < PURGE_EVERY_MS) return;
    this.lastPurge = now;
    const before = now - (this.options.answerTtlMs ?? 7 * 24 * 3_600_000);
    this.purging = this.db
      .query("DELETE FROM push_answers WHERE created_at < $1", [before])
      .then(() => undefined)
      .catch(() => undefined);
  }

  /** Resolves once the expired answers being cleared (if any) are. */
  async purged(): Promise<void> {
    await this.purging;
  }

  /** Resolves once a statistics refresh started by a push (if any) is done. */
  async settled(): Promise<void> {
    await this.analysing;
  }

  /**
   * PostgreSQL plans the read of a batch's current documents (and a pull's page) from its statistics of `documents`.
   * Before autovacuum has analysed a fresh or fast-growing table it believes an app holds a row or two, and plans a
   * scan of the whole app per push (measured: 12.8 ms per batch at 50,000 documents instead of 1.1 ms; push and
   * restore slowed 3–8× at 100,000). So when an app's backup crosses 1,024 documents and every 4× beyond, the server
   * asks for fresh statistics — once at a time, after the push committed, never holding it up.
   */
  private refreshStatistics(before: number, after: number): void {
    const step = (n: number) => (n < 1024 ? -1 : Math.floor(Math.log(n / 1024) / Math.log(4)));
    if (step(after) <= step(before) || this.analysing) return;
    this.analysing = this.db
      .query("ANALYZE documents")
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => {
        this.analysing = undefined;
      });
  }

  /**
   * A pull's answer ({@link PullResponse}) as UTF-8 JSON, each document's data spliced in as PostgreSQL's own JSON
   * text: a page is never parsed into objects and serialised again on the server. One statement (`PULL_PAGE`) reads
   * the app's row and the page; only when the checkpoint turns out to need another start (another epoch, a seq the
   * server does not have) does a second one run.
   */
  async pullJson(account: string, request: PullRequest): Promise<Buffer> {
    const { scope, checkpoint } = request;
    const limit = Math.min(request.limit, this.options.limits.maxPullLimit);
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw new HokanError("bad-request", "limit must be a positive integer");
    const invalid = checkCheckpoint(checkpoint);
    if (invalid) throw invalid;
    const maxBytes = this.options.limits.maxPullBytes;
    // Guess the common case (the checkpoint is good), then check the guess against the app's row read with the page.
    // A wrong guess costs one more statement, two at most: an app's epoch and seq only grow.
    let afterSeq = checkpoint.epoch === 0 ? 0 : checkpoint.seq;
    for (;;) {
      const rows = await this.db.query<PageRow>(PULL_PAGE, [
        account,
        scope.appId,
        afterSeq,
        limit + 1,
        maxBytes,
      ]);
      const first = rows[0] as PageRow; // the LEFT JOIN always yields a row
      const epoch = first.app_epoch ?? 1;
      const plan = planPull(checkpoint, epoch, Number(first.app_seq ?? 0));
      if (plan instanceof HokanError) throw plan;
      if (plan.afterSeq !== afterSeq) {
        afterSeq = plan.afterSeq;
        continue;
      }
      const candidates = first.seq === null ? [] : rows;
      const page = candidates.slice(
        0,
        pageLength(
          candidates.map((r) => r.bytes),
          limit,
          maxBytes,
        ),
      );
      const head: Omit<PullResponse, "documents"> = {
        epoch,
        reset: plan.reset,
        checkpoint: { epoch, seq: Number(page.at(-1)?.seq ?? afterSeq) },
        more: candidates.length > page.length,
        serverTime: this.now(),
      };
      this.options.onPulled?.(page.length);
      return pageJson(head, page);
    }
  }

  async push(account: string, request: PushRequest): Promise<PushResponse> {
    const invalid = checkPush(request, this.options.limits);
    if (invalid) throw invalid;
    this.purgeAnswers();
    // Outside the app's lock: the other pushes of the app wait for nothing but the database.
    const fingerprint = pushFingerprint(request.changes);
    const measured = measureChanges(request.changes, this.options.limits);
    // At most two pushes of one app hold a database connection in this process: one applying, the next already
    // waiting for the app's row lock so that it starts the moment the first commits. More would only fill the pool
    // with connections that wait (a device sends several pushes side by side). The row lock orders pushes across
    // processes.
    // A retry of a push already applied gets its answer without waiting for the app's lock. Inside the lock nothing
    // looks again: a retry that overtook this check (its original committed meanwhile) fails on the answer's key and
    // gets the stored answer then. Every statement run while the lock is held makes every push of the app wait longer.
    const known = await this.storedAnswer(account, request, fingerprint);
    if (known) return known;
    const release = await this.appTurn(JSON.stringify([account, request.scope.appId]));
    try {
      return await this.pushNow(account, request, fingerprint, measured);
    } catch (error) {
      const answered = isDuplicateAnswer(error) && (await this.storedAnswer(account, request, fingerprint));
      if (answered) return answered;
      throw error;
    } finally {
      release();
    }
  }

  /** The answer kept for this push's idempotency key, if any; `idempotency-mismatch` if kept for another push. */
  private async storedAnswer(
    account: string,
    request: PushRequest,
    fingerprint: string,
  ): Promise<PushResponse | undefined> {
    const [known] = await this.db.query<{ fingerprint: string; response: PushResponse }>(
      "SELECT fingerprint, response FROM push_answers WHERE account_id = $1 AND app_id = $2 AND key = $3",
      [account, request.scope.appId, request.idempotencyKey],
    );
    if (known && known.fingerprint !== fingerprint)
      throw new HokanError("idempotency-mismatch", "this idempotency key was used for another push");
    return known?.response;
  }

  /** Waits for one of the {@link PUSH_CONNECTIONS_PER_APP} turns of an app; resolves to the turn's release. */
  private async appTurn(key: string): Promise<() => void> {
    let turns = this.appTurns.get(key);
    if (!turns) {
      turns = { active: 0, waiting: [] };
      this.appTurns.set(key, turns);
    }
    const state = turns;
    if (state.active >= PUSH_CONNECTIONS_PER_APP)
      await new Promise<void>((resolve) => state.waiting.push(resolve));
    else state.active++;
    return () => {
      const next = state.waiting.shift();
      if (next)
        next(); // the turn passes on; `active` stays
      else if (--state.active === 0) this.appTurns.delete(key);
    };
  }

  private async pushNow(
    account: string,
    request: PushRequest,
    fingerprint: string,
    measured: ReturnType<typeof measureChanges>,
  ): Promise<PushResponse> {
    const { scope } = request;
    let counts = { before: 0, after: 0 };
    /** The notice of what the push stored, for a bus outside the database once the transaction committed. */
    let published: string | undefined;
    const response = await this.db.transaction(async (tx) => {
      // One push at a time per account and app: the row lock (taken by the upsert, new row or not) orders them,
      // across server processes too. One statement creates the app's row if needed, locks it and reads it.
      const [app] = await tx.query<AppRow>(
        `INSERT INTO apps (account_id, app_id, app_version, platform, schema_version) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (account_id, app_id) DO UPDATE SET account_id = apps.account_id
         RETURNING epoch, seq, documents, bytes`,
        [account, scope.appId, scope.appVersion, scope.platform, scope.schemaVersion ?? 1],
      );
      if (!app) throw new HokanError("server", "app row vanished");
      const current = await this.currentDocuments(tx, account, scope.appId, request);
      const epoch = app.epoch;
      const now = this.now();
      const outcome = decidePush({
        changes: request.changes,
        current,
        epoch,
        seq: Number(app.seq),
        now,
        limits: this.options.limits,
        measured,
      });
      const { results, writes, seq } = outcome;
      const documents = app.documents + outcome.documentsDelta;
      counts = { before: app.documents, after: documents };
      const bytes = Number(app.bytes) + outcome.bytesDelta;
      const overQuota = checkQuota(scope.appId, Number(app.bytes), outcome, this.options.quotaBytes);
      if (overQuota) throw overQuota;
      const response: PushResponse = { epoch, serverTime: now, results };
      const answer = [
        account,
        scope.appId,
        request.idempotencyKey,
        fingerprint,
        JSON.stringify(response),
        now,
      ];
      if (writes.length === 0) {
        await tx.query(
          "INSERT INTO push_answers (account_id, app_id, key, fingerprint, response, created_at) VALUES ($1, $2, $3, $4, $5::jsonb, $6)",
          answer,
        );
        return response;
      }
      const notice: LiveNotice = { account, appId: scope.appId, type: "changed", epoch, seq, at: Date.now() };
      published = noticePayload(notice, writes, Number(app.seq));
      // One statement: the batch's documents (arrays in, one row per document), the catalog, the answer kept for a
      // retry, and the live notice (delivered when the transaction commits, to every server process listening).
      await tx.query(
        `WITH stored AS (
           INSERT INTO documents (account_id, app_id, ${DOC_COLUMNS})
           SELECT $1, $2, w.collection, w.id, w.data::jsonb, w.rev, w.seq, w.hlc, w.change_id, $6, w.schema_version, w.bytes,
             w.is_default
           FROM unnest($7::text[], $8::text[], $9::text[], $10::int[], $11::bigint[], $12::text[], $13::text[], $14::int[], $15::int[],
             $24::boolean[])
             AS w(collection, id, data, rev, seq, hlc, change_id, schema_version, bytes, is_default)
           ON CONFLICT (account_id, app_id, collection, id) DO UPDATE SET
             data = EXCLUDED.data, rev = EXCLUDED.rev, seq = EXCLUDED.seq, hlc = EXCLUDED.hlc,
             change_id = EXCLUDED.change_id, updated_at = EXCLUDED.updated_at,
             schema_version = EXCLUDED.schema_version, bytes = EXCLUDED.bytes, is_default = EXCLUDED.is_default
         ), catalog AS (
           UPDATE apps SET seq = $16, last_backup_at = $6, documents = $17, bytes = $18, app_version = $19,
             platform = $20, schema_version = $21 WHERE account_id = $1 AND app_id = $2
         ), answer AS (
           INSERT INTO push_answers (account_id, app_id, key, fingerprint, response, created_at)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6)
         )
         SELECT pg_notify($22, $23) WHERE $22::text IS NOT NULL`,
        [
          ...answer,
          writes.map((d) => d.collection),
          writes.map((d) => d.id),
          binaryTextArray(writes.map((d) => (d.data === null ? null : (d.json ?? JSON.stringify(d.data))))),
          writes.map((d) => d.rev),
          writes.map((d) => d.seq),
          writes.map((d) => d.hlc),
          writes.map((d) => d.changeId),
          writes.map((d) => d.schemaVersion ?? 1),
          writes.map((d) => d.bytes),
          seq,
          documents,
          bytes,
          scope.appVersion,
          scope.platform,
          scope.schemaVersion ?? 1,
          this.options.publish ? null : LIVE_CHANNEL,
          published,
          writes.map((d) => d.kind === "default"),
        ],
      );
      return response;
    });
    if (published !== undefined) this.options.publish?.(account, published);
    this.refreshStatistics(counts.before, counts.after);
    return response;
  }

  /**
   * The documents of an app's feed after `afterSeq` up to `headSeq`, as a live hint carries them (a long poll that
   * hints a change which fell between two polls): none when they are more, or larger, than a hint may carry.
   */
  async hintDocuments(
    account: string,
    appId: string,
    afterSeq: number,
    headSeq: number,
  ): Promise<ServerDocument[] | undefined> {
    const most = 32;
    const rows = await this.db.query<DocRow>(
      `SELECT ${DOC_COLUMNS} FROM documents WHERE account_id = $1 AND app_id = $2 AND seq > $3 AND seq <= $4
       ORDER BY seq LIMIT ${most + 1}`,
      [account, appId, afterSeq, headSeq],
    );
    if (rows.length === 0 || rows.length > most) return undefined;
    const documents = rows.map(toDocument);
    return Buffer.byteLength(JSON.stringify(documents)) <= LIVE_NOTICE_BYTES ? documents : undefined;
  }

  /**
   * Where each app of the account stands in its change feed (epoch and seq), for the live channel's long poll: it
   * compares them with what the client last saw, so a change that fell between two polls is still hinted.
   */
  async heads(account: string): Promise<Map<string, { epoch: number; seq: number }>> {
    const rows = await this.db.query<{ app_id: string; epoch: number; seq: string | number }>(
      "SELECT app_id, epoch, seq FROM apps WHERE account_id = $1",
      [account],
    );
    return new Map(rows.map((r) => [r.app_id, { epoch: r.epoch, seq: Number(r.seq) }]));
  }

  /** The account's backed-up apps, as they are now (the catalog changes in the same transactions as the data). */
  async catalog(
    account: string,
    registry: (appId: string, platform: string) => RegistryEntry | null,
    apps?: readonly string[],
  ): Promise<Catalog> {
    const rows = await this.db.query<{
      app_id: string;
      epoch: number;
      last_backup_at: string | number;
      documents: number;
      bytes: string | number;
      app_version: string;
      platform: AppScope["platform"];
      schema_version: number;
    }>(
      `SELECT app_id, epoch, last_backup_at, documents, bytes, app_version, platform, schema_version
       FROM apps WHERE account_id = $1 AND documents > 0 ORDER BY app_id`,
      [account],
    );
    const now = this.now();
    const entries: CatalogEntry[] = rows
      .filter((r) => !apps || apps.includes(r.app_id))
      .map((r) => {
        const entry = registry(r.app_id, r.platform);
        const retired = entry?.retiredAt !== undefined && Date.parse(entry.retiredAt) <= now;
        return {
          appId: r.app_id,
          epoch: r.epoch,
          lastBackupAt: Number(r.last_backup_at),
          documents: r.documents,
          bytes: Number(r.bytes),
          appVersion: r.app_version,
          platform: r.platform,
          schemaVersion: r.schema_version,
          status: retired ? "retired" : "active",
        };
      });
    return { apps: entries };
  }

  /** Deletes backups: each app's epoch rises, its documents go, its catalog entry empties, in one transaction. */
  async delete(
    account: string,
    appIds: readonly string[] | "all",
    requestId: string,
    bulk?: (apps: readonly { appId: string; platform: AppScope["platform"] }[]) => {
      readonly take: readonly string[];
      readonly skipped: readonly SkippedApp[];
    },
  ): Promise<DeleteResult> {
    if (typeof requestId !== "string" || !/^[\w-]{8,128}$/.test(requestId)) {
      throw new HokanError(
        "bad-request",
        "a delete needs a request id of 8 to 128 letters, digits, '_' or '-'",
      );
    }
    // What the request deleted: its answer is for that request alone, not for another app under the same id.
    const target = appIds === "all" ? "all" : `apps:${[...appIds].sort().join(",")}`;
    const notices: string[] = [];
    const result = await this.db.transaction(async (tx) => {
      notices.length = 0;
      const [known] = await tx.query<{ result: DeleteResult & { target?: string } }>(
        "SELECT result FROM delete_answers WHERE account_id = $1 AND request_id = $2",
        [account, requestId],
      );
      if (known) {
        const { target: was, ...answer } = known.result;
        if (was !== undefined && was !== target) {
          throw new HokanError(
            "idempotency-mismatch",
            "this request id was used for a delete of something else; use a new request id",
          );
        }
        return answer;
      }
      type Row = { app_id: string; epoch: number; seq: string | number; platform: AppScope["platform"] };
      let rows =
        appIds === "all"
          ? await tx.query<Row>(
              "SELECT app_id, epoch, seq, platform FROM apps WHERE account_id = $1 ORDER BY app_id FOR UPDATE",
              [account],
            )
          : await tx.query<Row>(
              "SELECT app_id, epoch, seq, platform FROM apps WHERE account_id = $1 AND app_id = ANY($2::text[]) ORDER BY app_id FOR UPDATE",
              [account, appIds],
            );
      let skipped: readonly SkippedApp[] = [];
      if (bulk) {
        const plan = bulk(rows.map((r) => ({ appId: r.app_id, platform: r.platform })));
        const take = new Set(plan.take);
        rows = rows.filter((r) => take.has(r.app_id));
        skipped = plan.skipped;
      }
      const out: { appId: string; epoch: number }[] = [];
      for (const r of rows) {
        const epoch = r.epoch + 1;
        await tx.query("DELETE FROM documents WHERE account_id = $1 AND app_id = $2", [account, r.app_id]);
        await tx.query("DELETE FROM push_answers WHERE account_id = $1 AND app_id = $2", [account, r.app_id]);
        await tx.query(
          "UPDATE apps SET epoch = $3, documents = 0, bytes = 0 WHERE account_id = $1 AND app_id = $2",
          [account, r.app_id, epoch],
        );
        out.push({ appId: r.app_id, epoch });
        const notice = JSON.stringify({
          account,
          appId: r.app_id,
          type: "deleted",
          epoch,
          seq: Number(r.seq),
          at: Date.now(),
        } satisfies LiveNotice);
        // Delivered when the transaction commits, to every server process listening on the database; or, on a bus
        // outside it, published after.
        if (this.options.publish) notices.push(notice);
        else await tx.query("SELECT pg_notify($1, $2)", [LIVE_CHANNEL, notice]);
      }
      const result: DeleteResult = { apps: out, ...(skipped.length > 0 ? { skipped } : {}) };
      await tx.query(
        "INSERT INTO delete_answers (account_id, request_id, result, created_at) VALUES ($1, $2, $3::jsonb, $4)",
        [account, requestId, JSON.stringify({ ...result, target }), this.now()],
      );
      return result;
    });
    for (const notice of notices) this.options.publish?.(account, notice);
    return result;
  }

  private async currentDocuments(tx: Sql, account: string, appId: string, request: PushRequest) {
    // Keys PostgreSQL cannot hold (a NUL) are refused per change by decideChange; they must not reach the query.
    const keys = request.changes.filter(
      (c) =>
        typeof c.collection === "string" &&
        typeof c.id === "string" &&
        !`${c.collection}${c.id}`.includes("\u0000"),
    );
    const collections = keys.map((c) => c.collection);
    const ids = keys.map((c) => c.id);
    const rows = await tx.query<DocRow>(
      `SELECT ${DOC_COLUMNS} FROM documents WHERE account_id = $1 AND app_id = $2
         AND (collection, id) IN (SELECT * FROM unnest($3::text[], $4::text[]))`,
      [account, appId, collections, ids],
    );
    return new Map(
      rows.map((r) => [JSON.stringify([r.collection, r.id]), { doc: toDocument(r), bytes: r.bytes }]),
    );
  }
}
