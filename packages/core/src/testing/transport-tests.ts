import { filter, firstValueFrom, take, timeout, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { HokanError } from "../errors.js";
import type { JsonObject } from "../json.js";
import type { Transport } from "../ports.js";
import {
  type AppScope,
  isLiveHint,
  type LiveHint,
  type PatchOperation,
  type PushChange,
} from "../protocol.js";
import { STORED_ROW_BYTES } from "../server-rules.js";

/** What a {@link runTransportTests} setup provides: a server with `TRANSPORT_TEST_REGISTRY`, fresh. */
export interface TransportSetup {
  /** A transport authenticated as `accountId` (entitled unless told otherwise). */
  readonly connect: (accountId: string, options?: { entitled?: boolean }) => Promise<Transport> | Transport;
  readonly teardown: () => Promise<void>;
  /** Documents per pull the server allows at most, if lower than 1000. */
  readonly maxPullLimit?: number;
  /**
   * The heartbeat the server was started with (ms; keep it under a second or two for the suite's sake): its live
   * channels must open with `open` announcing it, then beat at it.
   */
  readonly liveHeartbeatMs: number;
}

const MAIL: AppScope = { appId: "jp.example.mail", appVersion: "3.0.0", platform: "android" };
const NOTES: AppScope = { appId: "jp.example.notes", appVersion: "1.0.0", platform: "android" };
const STRICT: AppScope = { appId: "jp.example.strict", appVersion: "2.0.0", platform: "android" };
/** An app the registry offers neither bulk backup nor bulk delete for. */
const SOLO: AppScope = { appId: "jp.example.solo", appVersion: "1.0.0", platform: "android" };

let counter = 0;
const uid = (p: string) => `${p}-${Date.now().toString(36)}-${(counter++).toString(36)}`;
const hlc = (n: number) => `${String(n).padStart(15, "0")}:000000:dev`;

const put = (id: string, data: JsonObject | null, extra: Partial<PushChange> = {}): PushChange => ({
  collection: "settings",
  id,
  changeId: uid("c"),
  epoch: 1,
  baseRev: 0,
  hlc: hlc(1),
  data,
  ...extra,
});

const patchOf = (id: string, baseRev: number, patch: readonly PatchOperation[]): PushChange => ({
  collection: "settings",
  id,
  changeId: uid("c"),
  epoch: 1,
  baseRev,
  hlc: hlc(2),
  patch,
});

/** The next `count` live events `t` sees of an app (the mail app), once its channel had time to open (before the writes). */
async function openLive(
  t: Transport,
  count: number,
  scope: AppScope = MAIL,
): Promise<{ events: Promise<LiveHint[]> }> {
  const events = firstValueFrom(
    t.live([scope]).pipe(filter(isLiveHint), take(count), toArray(), timeout(10_000)),
  );
  // Let the live channels open before the writes they should see.
  await new Promise((r) => setTimeout(r, 200));
  return { events };
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(HokanError.is(error), `expected a HokanError ${code}, got ${String(error)}`).toBe(true);
  expect((error as HokanError).code).toBe(code);
}

/**
 * The conformance suite every {@link Transport} (with the server behind it) must pass: checkpointed pull, push
 * with assumed state and idempotency, patches, epochs, catalog, registry rules, isolation and live hints.
 */
export function runTransportTests(name: string, setup: () => Promise<TransportSetup>): void {
  describe(`Transport conformance: ${name}`, () => {
    const withServer = (fn: (s: TransportSetup) => Promise<void>) => async () => {
      const s = await setup();
      try {
        await fn(s);
      } finally {
        await s.teardown();
      }
    };

    it(
      "pushes documents and pulls them back in order, then nothing after the checkpoint",
      withServer(async (s) => {
        const t = await s.connect(uid("acct"));
        const res = await t.push({
          scope: MAIL,
          idempotencyKey: uid("key"),
          changes: [put("a", { v: 1 }), put("b", { v: 2 })],
        });
        expect(res.results.map((r) => r.status)).toEqual(["accepted", "accepted"]);
        const pulled = await t.pull({ scope: MAIL, checkpoint: { epoch: 0, seq: 0 }, limit: 100 });
        expect(pulled.documents.map((d) => [d.id, d.data, d.rev])).toEqual([
          ["a", { v: 1 }, 1],
          ["b", { v: 2 }, 1],
        ]);
        expect(pulled.more).toBe(false);
        const again = await t.pull({ scope: MAIL, checkpoint: pulled.checkpoint, limit: 100 });
        expect(again.documents).toEqual([]);
        expect(again.checkpoint).toEqual(pulled.checkpoint);
      }),
    );

    it(
      "pulls in batches with `more` until the end",
      withServer(async (s) => {
        const t = await s.connect(uid("acct"));
        const changes = Array.from({ length: 25 }, (_, i) => put(`d${i}`, { i }));
        await t.push({ scope: MAIL, idempotencyKey: uid("key"), changes });
        let checkpoint = { epoch: 0, seq: 0 };
        const ids: string[] = [];
        for (let round = 0; round < 10; round++) {
          const r = await t.pull({ scope: MAIL, checkpoint, limit: 10 });
          ids.push(...r.documents.map((d) => d.id));
          checkpoint = r.checkpoint;
          if (!r.more) break;
        }
        expect(ids).toEqual(changes.map((c) => c.id));
      }),
    );

    it(
      "starts a pull over from a checkpoint past the feed, answers an app with no backup, refuses a bad checkpoint",
      withServer(async (s) => {
        const t = await s.connect(uid("acct"));
        const none = await t.pull({ scope: MAIL, checkpoint: { epoch: 0, seq: 0 }, limit: 10 });
        expect(none).toMatchObject({ epoch: 1, reset: false, more: false, documents: [] });
        expect(none.checkpoint).toEqual({ epoch: 1, seq: 0 });
        await t.push({
          scope: MAIL,
          idempotencyKey: uid("key"),
          changes: [put("a", { v: 1 }), put("b", { v: 2 })],
        });
        // A checkpoint from a future this server does not have (say, restored from an older backup): start over.
        const ahead = await t.pull({ scope: MAIL, checkpoint: { epoch: 1, seq: 99 }, limit: 1 });
        expect(ahead).toMatchObject({ reset: true, more: true, checkpoint: { epoch: 1, seq: 1 } });
        expect(ahead.documents.map((d) => d.id)).toEqual(["a"]);
        const rest = await t.pull({ scope: MAIL, checkpoint: ahead.checkpoint, limit: 1 });
        expect(rest).toMatchObject({ reset: false, more: false, checkpoint: { epoch: 1, seq: 2 } });
        expect(rest.documents.map((d) => d.id)).toEqual(["b"]);
        for (const checkpoint of [
          { epoch: 1, seq: -1 },
          { epoch: 1.5, seq: 0 },
        ]) {
          const refused = await t.pull({ scope: MAIL, checkpoint, limit: 10 }).catch((e: unknown) => e);
          expect(HokanError.is(refused, "bad-request")).toBe(true);
        }
      }),
    );

    it(
      "ends a pull page before the document that would take it past the byte limit, and goes on from there",
      withServer(async (s) => {
        const t = await s.connect(uid("acct"));
        // 26 documents of about 200 KB (the default page limit is 4 MiB).
        const ids = Array.from({ length: 26 }, (_, i) => `big${String(i).padStart(2, "0")}`);
        for (let i = 0; i < ids.length; i += 5) {
          const changes = ids.slice(i, i + 5).map((id) => put(id, { id, text: id.repeat(40_000) }));
          await t.push({ scope: MAIL, idempotencyKey: uid("key"), changes });
        }
        const first = await t.pull({ scope: MAIL, checkpoint: { epoch: 0, seq: 0 }, limit: 100 });
        // Each is 200,024 bytes of JSON: 20 make 4,000,480, a 21st would pass 4 MiB.
        expect(JSON.stringify(first.documents[0]?.data).length).toBe(200_024);
        expect(first.documents.map((d) => d.id)).toEqual(ids.slice(0, 20));
        expect(first.more).toBe(true);
        const rest = await t.pull({ scope: MAIL, checkpoint: first.checkpoint, limit: 100 });
        expect(rest.more).toBe(false);
        expect([...first.documents, ...rest.documents].map((d) => d.id)).toEqual(ids);
      }),
    );

    it(
      "answers a stale base revision with a conflict carrying the server state",
      withServer(async (s) => {
        const t = await s.connect(uid("acct"));
        await t.push({ scope: MAIL, idempotencyKey: uid("key"), changes: [put("a", { v: 1 })] });
        const res = await t.push({ scope: MAIL, idempotencyKey: uid("key"), changes: [put("a", { v: 2 })] });
        const r = res.results[0];
        expect(r?.status).toBe("conflict");
        if (r?.status !== "conflict") return;
        expect(r.reason).toBe("stale");
        expect(r.current?.data).toEqual({ v: 1 });
        expect(r.current?.rev).toBe(1);
      }),
    );

    it(
      "applies a retried push once: same key, same answer; same key with another body is refused",
      withServer(async (s) => {
        const t = await s.connect(uid("acct"));
        const request = { scope: MAIL, idempotencyKey: uid("key"), changes: [put("a", { v: 1 })] };
        const first = await t.push(request);
        const second = await t.push(request);
        expect(second).toEqual(first);
        const pulled = await t.pull({ scope: MAIL, checkpoint: { epoch: 0, seq: 0 }, limit: 10 });
        expect(pulled.documents).toHaveLength(1);
        expect(pulled.documents[0]?.rev).toBe(1);
        await rejectsWith(t.push({ ...request, changes: [put("a", { v: 9 })] }), "idempotency-mismatch");
      }),
    );

    it(
      "starts every app at epoch 1 and refuses a change without the current epoch, telling the epoch",
      withServer(async (s) => {
        const t = await s.connect(uid("acct"));
        const res = await t.push({
          scope: MAIL,
          idempotencyKey: uid("key"),
          changes: [put("a", { v: 1 }, { epoch: 0 })],
        });
        expect(res.epoch).toBe(1);
        expect(res.results[0]).toMatchObject({ status: "conflict", reason: "epoch" });
        expect(Math.abs(res.serverTime - Date.now())).toBeLessThan(60_000);
        const pulled = await t.pull({ scope: MAIL, checkpoint: { epoch: 0, seq: 0 }, limit: 10 });
        expect(pulled.documents).toEqual([]);
        expect(pulled.epoch).toBe(1);
      }),
    );

    it(
      "recognises a change it already applied by its change id, even under a new key",
      withServer(async (s) => {
        const t = await s.connect(uid("acct"));
        const change = put("a", { v: 1 });
        await t.push({ scope: MAIL, idempotencyKey: uid("key"), changes: [change] });
        const res = await t.push({ scope: MAIL, idempotencyKey: uid("key"), changes: [change] });
        expect(res.results[0]).toMatchObject({ status: "accepted", rev: 1 });
      }),
    );

    it(
      "applies an RFC 6902 patch on its base, and refuses one that does not apply",
      withServer(async (s) => {
        const t = await s.connect(uid("acct"));
        await t.push({ scope: MAIL, idempotencyKey: uid("key"), changes: [put("a", { v: 1, keep: true })] });
        const patch = [{ op: "replace" as const, path: "/v", value: 2 }];
        const ok = await t.push({
          scope: MAIL,
          idempotencyKey: uid("key"),
          changes: [patchOf("a", 1, patch)],
        });
        expect(ok.results[0]?.status).toBe("accepted");
        const stale = await t.push({
          scope: MAIL,
          idempotencyKey: uid("key"),
          changes: [patchOf("a", 1, patch)],
        });
        expect(stale.results[0]).toMatchObject({ status: "conflict", reason: "stale" });
        const bad = await t.push({
          scope: MAIL,
          idempotencyKey: uid("key"),
          changes: [patchOf("a", 2, [{ op: "remove", path: "/missing" }])],
        });
        expect(bad.results[0]).toMatchObject({ status: "rejected", code: "bad-patch" });
        const pulled = await t.pull({ scope: MAIL, checkpoint: { epoch: 0, seq: 0 }, limit: 10 });
        expect(pulled.documents[0]?.data).toEqual({ v: 2, keep: true });
      }),
    );

    it(
      "deletes an app's backup: the epoch rises, old changes conflict, old checkpoints reset, catalog empties",
      withServer(async (s) => {
        const t = await s.connect(uid("acct"));
        await t.push({ scope: MAIL, idempotencyKey: uid("key"), changes: [put("a", { v: 1 })] });
        const before = await t.pull({ scope: MAIL, checkpoint: { epoch: 0, seq: 0 }, limit: 10 });
        const deleted = await t.deleteApp(MAIL, uid("del"));
        const epoch = deleted.apps.find((a) => a.appId === MAIL.appId)?.epoch ?? 0;
        expect(epoch).toBeGreaterThan(before.epoch);
        expect((await t.catalog()).apps).toEqual([]);
        const old = await t.push({
          scope: MAIL,
          idempotencyKey: uid("key"),
          changes: [put("b", { stale: true }, { epoch: before.epoch })],
        });
        expect(old.epoch).toBe(epoch);
        expect(old.results[0]).toMatchObject({ status: "conflict", reason: "epoch" });
        // A queued change from before the delete gets the current server state back: here, that it is gone.
        expect(old.results[0]).not.toHaveProperty("current");
        const after1 = await t.push({
          scope: MAIL,
          idempotencyKey: uid("key"),
          changes: [put("a", { v: 5 }, { epoch })],
        });
        expect(after1.results[0]?.status).toBe("accepted");
        const stale = await t.push({
          scope: MAIL,
          idempotencyKey: uid("key"),
          changes: [put("a", { v: 6 }, { epoch: before.epoch, baseRev: 1 })],
        });
        expect(stale.results[0]).toMatchObject({
          status: "conflict",
          reason: "epoch",
          current: { data: { v: 5 } },
        });
        const reset = await t.pull({ scope: MAIL, checkpoint: before.checkpoint, limit: 10 });
        expect(reset.reset).toBe(true);
        expect(reset.documents.map((d) => [d.id, d.data])).toEqual([["a", { v: 5 }]]);
        const fresh = await t.push({
          scope: MAIL,
          idempotencyKey: uid("key"),
          changes: [put("c", { v: 3 }, { epoch })],
        });
        expect(fresh.results[0]?.status).toBe("accepted");
        const after = await t.pull({ scope: MAIL, checkpoint: reset.checkpoint, limit: 10 });
        expect(after.documents.map((d) => d.id)).toEqual(["c"]);
      }),
    );

    it(
      "deletes once for a repeated request id, so a replayed delete cannot take later changes",
      withServer(async (s) => {
        const t = await s.connect(uid("acct"));
        await t.push({ scope: MAIL, idempotencyKey: uid("key"), changes: [put("a", { v: 1 })] });
        const requestId = uid("del");
        const first = await t.deleteApp(MAIL, requestId);
        const epoch = first.apps[0]?.epoch ?? 0;
        await t.push({ scope: MAIL, idempotencyKey: uid("key"), changes: [put("b", { v: 2 }, { epoch })] });
        const again = await t.deleteApp(MAIL, requestId);
        expect(again).toEqual(first);
        const pulled = await t.pull({ scope: MAIL, checkpoint: { epoch: 0, seq: 0 }, limit: 10 });
        expect(pulled.epoch).toBe(epoch);
        expect(pulled.documents.map((d) => d.id)).toEqual(["b"]);
      }),
    );

    it(
      "lists backed-up apps in the catalog with their last backup time, and bulk delete empties it",
      withServer(async (s) => {
        const t = await s.connect(uid("acct"));
        const t0 = Date.now();
        const a = put("a", { v: 1 });
        const b = put("b", { v: 2 });
        const n = put("n", { text: "hi" });
        await t.push({ scope: MAIL, idempotencyKey: uid("key"), changes: [a, b] });
        await t.push({ scope: NOTES, idempotencyKey: uid("key"), changes: [n] });
        const catalog = await t.catalog();
        expect(catalog.apps.map((a) => [a.appId, a.documents, a.status])).toEqual([
          ["jp.example.mail", 2, "active"],
          ["jp.example.notes", 1, "active"],
        ]);
        for (const app of catalog.apps) expect(app.lastBackupAt).toBeGreaterThan(t0 - 86_400_000);
        // Bytes are what is stored: each document's JSON ({"v":1} is 7), and its ids and row.
        const row = (c: PushChange) =>
          c.collection.length + c.id.length + c.hlc.length + c.changeId.length + STORED_ROW_BYTES;
        expect(catalog.apps.map((a) => a.bytes)).toEqual([7 + row(a) + 7 + row(b), 13 + row(n)]);
        // A change replaces its document's bytes; a delete leaves a tombstone, which costs its ids and row.
        const a2 = put("a", { v: 10 }, { baseRev: 1 });
        const b2 = put("b", null, { baseRev: 1 });
        await t.push({ scope: MAIL, idempotencyKey: uid("key"), changes: [a2, b2] });
        const mail = (await t.catalog()).apps.find((a) => a.appId === MAIL.appId);
        expect([mail?.documents, mail?.bytes]).toEqual([1, 8 + row(a2) + row(b2)]);
        const result = await t.deleteAll(uid("del"));
        expect(result.apps.map((a) => a.appId).sort()).toEqual(["jp.example.mail", "jp.example.notes"]);
        expect((await t.catalog()).apps).toEqual([]);
      }),
    );

    it(
      "never shows or touches another account's backup",
      withServer(async (s) => {
        const alice = await s.connect(uid("alice"));
        const bob = await s.connect(uid("bob"));
        await alice.push({
          scope: MAIL,
          idempotencyKey: uid("key"),
          changes: [put("secret", { pin: 1234 })],
        });
        await bob.deleteAll(uid("del"));
        const pulled = await bob.pull({ scope: MAIL, checkpoint: { epoch: 0, seq: 0 }, limit: 10 });
        expect(pulled.documents).toEqual([]);
        expect((await bob.catalog()).apps).toEqual([]);
        const res = await bob.push({
          scope: MAIL,
          idempotencyKey: uid("key"),
          changes: [put("secret", { pin: 0 }, { epoch: pulled.epoch })],
        });
        expect(res.results[0]?.status).toBe("accepted");
        const mine = await alice.pull({ scope: MAIL, checkpoint: { epoch: 0, seq: 0 }, limit: 10 });
        expect(mine.documents.map((d) => d.data)).toEqual([{ pin: 1234 }]);
      }),
    );

    it(
      "refuses by the registry: unknown app, missing capability, retired, below the minimum version",
      withServer(async (s) => {
        const t = await s.connect(uid("acct"));
        const one = [put("a", { v: 1 })];
        const key = () => uid("key");
        await rejectsWith(
          t.push({ scope: { ...MAIL, appId: "jp.example.unknown" }, idempotencyKey: key(), changes: one }),
          "unsupported",
        );
        await rejectsWith(
          t.push({ scope: { ...MAIL, platform: "ios" }, idempotencyKey: key(), changes: one }),
          "capability",
        );
        const old: AppScope = { appId: "jp.example.old", appVersion: "1.0.0", platform: "android" };
        await rejectsWith(t.push({ scope: old, idempotencyKey: key(), changes: one }), "retired");
        const restored = await t.pull({ scope: old, checkpoint: { epoch: 0, seq: 0 }, limit: 10 });
        expect(restored.documents).toEqual([]);
        const strict: AppScope = { appId: "jp.example.strict", appVersion: "1.9.9", platform: "android" };
        await rejectsWith(t.push({ scope: strict, idempotencyKey: key(), changes: one }), "upgrade-required");
        const upgraded = await t.push({
          scope: { ...strict, appVersion: "2.0.0" },
          idempotencyKey: key(),
          changes: one,
        });
        expect(upgraded.results[0]?.status).toBe("accepted");
        const registry = await t.registry("android");
        expect(registry.map((e) => e.appId)).toContain("jp.example.strict");
        expect(registry.every((e) => e.platform === "android")).toBe(true);
      }),
    );

    it(
      "refuses an account without entitlement",
      withServer(async (s) => {
        const t = await s.connect(uid("acct"), { entitled: false });
        await rejectsWith(
          t.push({ scope: MAIL, idempotencyKey: uid("key"), changes: [put("a", { v: 1 })] }),
          "not-entitled",
        );
      }),
    );

    it(
      "rejects an oversized document and an oversized batch, storing nothing of them",
      withServer(async (s) => {
        const t = await s.connect(uid("acct"));
        const huge = put("big", { blob: "x".repeat(300 * 1024) });
        const res = await t.push({
          scope: MAIL,
          idempotencyKey: uid("key"),
          changes: [huge, put("small", { v: 1 })],
        });
        expect(res.results[0]).toMatchObject({ status: "rejected", code: "payload-too-large" });
        expect(res.results[1]?.status).toBe("accepted");
        const many = Array.from({ length: 1001 }, (_, i) => put(`m${i}`, { i }));
        await rejectsWith(
          t.push({ scope: MAIL, idempotencyKey: uid("key"), changes: many }),
          "batch-too-large",
        );
        const pulled = await t.pull({ scope: MAIL, checkpoint: { epoch: 0, seq: 0 }, limit: 100 });
        expect(pulled.documents.map((d) => d.id)).toEqual(["small"]);
      }),
    );

    it(
      "puts a small change's documents in its live hint, as a pull from the hint's `after` returns them; a large one's in none",
      withServer(async (s) => {
        const account = uid("acct");
        const writer = await s.connect(account);
        const reader = await s.connect(account);
        const { events } = await openLive(reader, 3);
        const push = (changes: PushChange[]) =>
          writer.push({ scope: MAIL, idempotencyKey: uid("key"), changes });
        await push([put("a", { v: 1 })]);
        await push([put("b", { v: 1, note: "ü".repeat(100) }), put("c", null)]);
        await push([put("big", { text: "x".repeat(8000) })]);
        const [first, second, large] = await events;
        const pulled = async (after: number) =>
          (await reader.pull({ scope: MAIL, checkpoint: { epoch: 1, seq: after }, limit: 100 })).documents;
        expect(first).toMatchObject({ type: "changed", epoch: 1, seq: 1, after: 0 });
        expect(second).toMatchObject({ type: "changed", epoch: 1, seq: 3, after: 1 });
        if (first?.type !== "changed" || second?.type !== "changed") throw new Error("expected changes");
        expect(first.documents).toEqual((await pulled(0)).filter((d) => d.seq <= 1));
        expect(second.documents).toEqual((await pulled(1)).filter((d) => d.seq <= 3));
        expect(second.documents?.map((d) => d.id)).toEqual(["b", "c"]);
        expect(large).toMatchObject({ type: "changed", seq: 4 });
        expect(large).not.toHaveProperty("documents");
        expect(large).not.toHaveProperty("after");
      }),
    );

    it(
      "carries a live hint's documents only to channels whose app version the registry lets restore",
      withServer(async (s) => {
        const account = uid("acct");
        const writer = await s.connect(account);
        const current = await s.connect(account);
        const outdated = await s.connect(account);
        const forCurrent = (await openLive(current, 1, STRICT)).events;
        const forOutdated = (await openLive(outdated, 1, { ...STRICT, appVersion: "1.9.9" })).events;
        await writer.push({ scope: STRICT, idempotencyKey: uid("key"), changes: [put("a", { v: 1 })] });
        const [[toCurrent], [toOutdated]] = await Promise.all([forCurrent, forOutdated]);
        expect(toCurrent).toMatchObject({ type: "changed", seq: 1, after: 0 });
        expect(toCurrent).toHaveProperty("documents");
        // The outdated version is told that something changed; the pull it then makes is refused as too old.
        expect(toOutdated).toEqual({ type: "changed", appId: STRICT.appId, epoch: 1, seq: 1 });
        await rejectsWith(
          outdated.pull({
            scope: { ...STRICT, appVersion: "1.9.9" },
            checkpoint: { epoch: 1, seq: 0 },
            limit: 10,
          }),
          "upgrade-required",
        );
      }),
    );

    it(
      "stores a default only where no document is: it never replaces a stored one, and any edit replaces it",
      withServer(async (s) => {
        const t = await s.connect(uid("acct"));
        const push = async (...changes: PushChange[]) =>
          (await t.push({ scope: MAIL, idempotencyKey: uid("key"), changes })).results;
        const all = async () =>
          (await t.pull({ scope: MAIL, checkpoint: { epoch: 0, seq: 0 }, limit: 100 })).documents;
        const [stored] = await push(put("tos", { version: 3, accepted: true }));
        expect(stored?.status).toBe("accepted");
        // Over a stored document a default loses, whatever base it names: the answer carries the stored state.
        const [refused] = await push(
          put("tos", { version: 0, accepted: false }, { kind: "default", baseRev: 1 }),
          put("theme", { mode: "light" }, { kind: "default" }),
        );
        expect(refused).toMatchObject({ status: "conflict", reason: "stale" });
        expect(refused?.status === "conflict" && refused.current?.data).toEqual({
          version: 3,
          accepted: true,
        });
        const docs = await all();
        expect(docs.map((d) => [d.id, d.data, d.kind])).toEqual([
          ["tos", { version: 3, accepted: true }, undefined],
          ["theme", { mode: "light" }, "default"],
        ]);
        // An edit of a stored default is an ordinary edit; a default fills a deleted document again.
        const theme = docs[1] as (typeof docs)[number];
        const [edited] = await push(put("theme", { mode: "dark" }, { baseRev: theme.rev }));
        expect(edited?.status).toBe("accepted");
        const [deleted] = await push(put("tos", null, { baseRev: 1 }));
        expect(deleted?.status).toBe("accepted");
        const [refilled] = await push(put("tos", { version: 0 }, { kind: "default", baseRev: 2 }));
        expect(refilled?.status).toBe("accepted");
        expect((await all()).map((d) => [d.id, d.data, d.kind])).toEqual([
          ["theme", { mode: "dark" }, undefined],
          ["tos", { version: 0 }, "default"],
        ]);
        const [bad] = await push(put("x", null, { kind: "default" }));
        expect(bad).toMatchObject({ status: "rejected", code: "bad-request" });
      }),
    );

    it(
      "refuses a bulk push, and leaves out of a bulk delete, an app the registry offers no bulk backup or delete for",
      withServer(async (s) => {
        const t = await s.connect(uid("acct"));
        await rejectsWith(
          t.push({ scope: SOLO, idempotencyKey: uid("key"), changes: [put("a", { v: 1 })], bulk: true }),
          "capability",
        );
        for (const scope of [SOLO, MAIL]) {
          const res = await t.push({ scope, idempotencyKey: uid("key"), changes: [put("a", { v: 1 })] });
          expect(res.results[0]?.status).toBe("accepted");
        }
        const bulk = await t.push({
          scope: MAIL,
          idempotencyKey: uid("key"),
          changes: [put("b", { v: 1 })],
          bulk: true,
        });
        expect(bulk.results[0]?.status).toBe("accepted");
        // On iOS the registry offers Mail no bulk delete either.
        const fromIos = await t.deleteAll(uid("del"), "ios");
        expect(fromIos.apps).toEqual([]);
        expect(fromIos.skipped).toEqual([
          { appId: MAIL.appId, code: "capability" },
          { appId: SOLO.appId, code: "unsupported" },
        ]);
        const result = await t.deleteAll(uid("del"), "android");
        expect(result.apps.map((a) => a.appId)).toEqual([MAIL.appId]);
        expect(result.skipped).toEqual([{ appId: SOLO.appId, code: "capability" }]);
        expect((await t.catalog()).apps.map((a) => a.appId)).toEqual([SOLO.appId]);
      }),
    );

    it(
      "hints a catalog channel of every app of the account, without documents",
      withServer(async (s) => {
        const account = uid("acct");
        const writer = await s.connect(account);
        const screen = await s.connect(account);
        const events = firstValueFrom(
          screen.live([], { catalog: true }).pipe(filter(isLiveHint), take(3), toArray(), timeout(10_000)),
        );
        await new Promise((r) => setTimeout(r, 200));
        await writer.push({ scope: MAIL, idempotencyKey: uid("key"), changes: [put("a", { v: 1 })] });
        await writer.push({ scope: NOTES, idempotencyKey: uid("key"), changes: [put("n", { v: 1 })] });
        await writer.deleteApp(MAIL, uid("del"));
        expect(await events).toEqual([
          { type: "changed", appId: MAIL.appId, epoch: 1, seq: 1 },
          { type: "changed", appId: NOTES.appId, epoch: 1, seq: 1 },
          { type: "deleted", appId: MAIL.appId, epoch: 2 },
        ]);
      }),
    );

    it(
      "hints live clients of the same account about changes and deletes, and no one else",
      withServer(async (s) => {
        const account = uid("acct");
        const writer = await s.connect(account);
        const reader = await s.connect(account);
        const stranger = await s.connect(uid("other"));
        const strangerEvents: unknown[] = [];
        const sub = stranger
          .live([MAIL])
          .pipe(filter(isLiveHint))
          .subscribe((e) => strangerEvents.push(e));
        const { events } = await openLive(reader, 2);
        await writer.push({ scope: MAIL, idempotencyKey: uid("key"), changes: [put("a", { v: 1 })] });
        await writer.deleteApp(MAIL, uid("del"));
        const seen = await events;
        sub.unsubscribe();
        expect(seen.map((e) => e.type)).toEqual(["changed", "deleted"]);
        expect(seen.every((e) => e.appId === MAIL.appId)).toBe(true);
        expect(strangerEvents).toEqual([]);
      }),
    );

    it(
      "opens a live channel with `open` announcing the heartbeat, then beats at it",
      withServer(async (s) => {
        const interval = s.liveHeartbeatMs;
        const t = await s.connect(uid("acct"));
        const started = Date.now();
        const signals = await firstValueFrom(
          t.live([MAIL]).pipe(take(3), toArray(), timeout(10_000 + interval * 4)),
        );
        expect(signals).toEqual([
          { type: "open", heartbeatMs: interval },
          { type: "beat" },
          { type: "beat" },
        ]);
        expect(Date.now() - started).toBeGreaterThanOrEqual(interval * 2 - 50);
      }),
    );
  });
}
