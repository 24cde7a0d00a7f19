import {
  isLiveHint,
  type LiveEvent,
  type PushChange,
  type RegistryEntry,
  randomId,
  STORED_ROW_BYTES,
  storedBytes,
  systemRuntime,
} from "@hokan/core";
import { openRegistry } from "@hokan/core/testing";
import { createHttpTransport } from "@hokan/transport";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from "jose";
import { filter } from "rxjs";
import { describe, expect, it, vi } from "vitest";
import {
  createVerifier,
  MIGRATIONS,
  migrate,
  openPGlite,
  parseRegistry,
  RegistryError,
} from "../src/index.js";
import { change, freshDatabase, SECRET, startServer } from "./fixtures.js";

const DAY = 86_400_000;
const T0 = Date.UTC(2027, 0, 10);
const iso = (ms: number) => new Date(ms).toISOString();
const SCOPE = { appId: "jp.example.mail", appVersion: "3.0.0", platform: "android" as const };
const put = (id: string, data: Record<string, unknown>, epoch = 1) =>
  change(id, data, { epoch }) as PushChange;
const key = () => `k-${randomId(systemRuntime)}`;

async function rawPush(url: string, token: string, scope: object, changes: unknown[]) {
  return fetch(`${url}/v1/apps/jp.example.mail/push`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ scope, idempotencyKey: key(), changes }),
  });
}

/** The first `count` events of a live response, read as server-sent events. */
async function readEvents(res: Response, count: number): Promise<unknown[]> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const events: unknown[] = [];
  let text = "";
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    const frames = text.split("\n\n");
    text = frames.pop() ?? "";
    for (const f of frames) {
      if (!f.startsWith("data: ")) continue;
      const event = JSON.parse(f.slice(6)) as LiveEvent;
      // The channel's own signals (open, beat) are not hints.
      if (isLiveHint(event)) events.push(event);
    }
  }
  return events;
}

/** Versions below 3.1.0 are warned on T0 and refused from T0 + DAY. */
const UPGRADE_FROM_TOMORROW: RegistryEntry[] = [
  {
    appId: SCOPE.appId,
    platform: "android",
    capabilities: ["backup", "restore"],
    minVersion: "3.1.0",
    minVersionEnforcedFrom: iso(T0 + DAY),
  },
];

describe("registry dates, quota and rate limits at the HTTP level", () => {
  it("retires an app on its date: backup refused, restore during the grace period, catalog says retired (scenario 7)", async () => {
    let now = T0;
    const registry: RegistryEntry[] = [
      {
        ...{ appId: SCOPE.appId, platform: "android" },
        capabilities: ["backup", "restore"],
        retiredAt: iso(T0 + DAY),
        restoreGraceDays: 30,
      },
    ];
    const s = await startServer(await openPGlite(), registry, { now: () => now });
    const c = s.client("alice");
    await c.push({ scope: SCOPE, idempotencyKey: key(), changes: [put("a", { v: 1 })] });
    expect((await c.catalog()).apps[0]?.status).toBe("active");
    now = T0 + DAY;
    await expect(
      c.push({ scope: SCOPE, idempotencyKey: key(), changes: [put("b", { v: 2 })] }),
    ).rejects.toMatchObject({ code: "retired" });
    expect((await c.catalog()).apps[0]?.status).toBe("retired");
    const restored = await c.pull({ scope: SCOPE, checkpoint: { epoch: 0, seq: 0 }, limit: 10 });
    expect(restored.documents.map((d) => d.data)).toEqual([{ v: 1 }]);
    now = T0 + 31 * DAY;
    await expect(c.pull({ scope: SCOPE, checkpoint: { epoch: 0, seq: 0 }, limit: 10 })).rejects.toMatchObject(
      { code: "retired" },
    );
    await s.close();
    await s.db.close();
  });

  it("warns an old client before the enforcement date and refuses it from then on (scenario 8)", async () => {
    let now = T0;
    const s = await startServer(await openPGlite(), UPGRADE_FROM_TOMORROW, { now: () => now });
    const token = await s.token("alice");
    const warned = await rawPush(s.url, token, SCOPE, [put("a", { v: 1 })]);
    expect(warned.status).toBe(200);
    expect(warned.headers.get("hokan-warning")).toBe("upgrade-soon");
    now = T0 + DAY;
    const refused = await rawPush(s.url, token, SCOPE, [put("b", { v: 2 })]);
    expect(refused.status).toBe(426);
    expect(await refused.json()).toMatchObject({ code: "upgrade-required" });
    const upgraded = await rawPush(s.url, token, { ...SCOPE, appVersion: "3.1.0" }, [put("b", { v: 2 })]);
    expect(upgraded.status).toBe(200);
    expect(upgraded.headers.get("hokan-warning")).toBeNull();
    await s.close();
    await s.db.close();
  });

  it("judges each live hint's documents by the registry as it is then, and gives none to a channel without scopes", async () => {
    let now = T0;
    const scratch = await freshDatabase("postgres");
    const s = await startServer(scratch.db, UPGRADE_FROM_TOMORROW, { now: () => now });
    const old = s.client("alice"); // runs 3.0.0: warned until T0 + DAY, refused from then on
    const hints: LiveEvent[] = [];
    const channel = old
      .live([SCOPE])
      .pipe(filter(isLiveHint))
      .subscribe({ next: (e) => hints.push(e), error: () => undefined });
    // An older client names its apps without their scopes.
    const legacyEnd = new AbortController();
    const legacy = await fetch(`${s.url}/v1/live?apps=${SCOPE.appId}`, {
      headers: { authorization: `Bearer ${await s.token("alice")}` },
      signal: legacyEnd.signal,
    });
    const legacyHints = readEvents(legacy, 2);
    await vi.waitFor(() => expect(s.server.hub.connections).toBe(2), { timeout: 10_000, interval: 20 });
    const upgraded = s.client("alice");
    const write = (id: string) =>
      upgraded.push({
        scope: { ...SCOPE, appVersion: "3.1.0" },
        idempotencyKey: key(),
        changes: [put(id, { v: 1 })],
      });
    await write("a");
    await vi.waitFor(() => expect(hints).toHaveLength(1), { timeout: 10_000, interval: 20 });
    expect(hints[0]).toMatchObject({ type: "changed", seq: 1, after: 0, documents: [{ id: "a" }] });
    now = T0 + DAY; // the minimum version is enforced from now, while the channel stays open
    await write("b");
    await vi.waitFor(() => expect(hints).toHaveLength(2), { timeout: 10_000, interval: 20 });
    expect(hints[1]).toEqual({ type: "changed", appId: SCOPE.appId, epoch: 1, seq: 2 });
    expect(await legacyHints).toEqual([
      { type: "changed", appId: SCOPE.appId, epoch: 1, seq: 1 },
      { type: "changed", appId: SCOPE.appId, epoch: 1, seq: 2 },
    ]);
    channel.unsubscribe();
    legacyEnd.abort();
    await s.close();
    await s.db.close();
    await scratch.drop();
  });

  it("refuses a push that would exceed the account's quota, storing none of it", async () => {
    const s = await startServer(
      await openPGlite(),
      [{ appId: SCOPE.appId, platform: "android", capabilities: ["backup", "restore"] }],
      { quotaBytes: 2000 },
    );
    const c = s.client("alice");
    await c.push({ scope: SCOPE, idempotencyKey: key(), changes: [put("a", { blob: "x".repeat(1200) })] });
    await expect(
      c.push({
        scope: SCOPE,
        idempotencyKey: key(),
        changes: [put("b", { v: 1 }), put("c", { blob: "y".repeat(1200) })],
      }),
    ).rejects.toMatchObject({ code: "quota" });
    const stored = await c.pull({ scope: SCOPE, checkpoint: { epoch: 0, seq: 0 }, limit: 10 });
    expect(stored.documents.map((d) => d.id)).toEqual(["a"]);
    await s.close();
    await s.db.close();
  });

  it.each(["pglite", "postgres"] as const)(
    "counts ids and tombstones against the quota: deleted documents cannot fill it for free (%s)",
    async (kind) => {
      const fresh = await freshDatabase(kind);
      const s = await startServer(
        fresh.db,
        [{ appId: SCOPE.appId, platform: "android", capabilities: ["backup", "restore"] }],
        { quotaBytes: 1_000_000 },
      );
      try {
        const c = s.client("alice");
        // Deletes of documents that never were, 256-character ids: each leaves a tombstone of about 400 bytes.
        const tombstone = (i: number) => ({
          ...put(`${String(i).padStart(6, "0")}${"x".repeat(250)}`, {}),
          data: null,
        });
        let refused: unknown;
        let stored = 0;
        for (let batch = 0; batch < 10 && refused === undefined; batch++) {
          const changes = Array.from({ length: 500 }, (_, i) => tombstone(batch * 500 + i));
          try {
            await c.push({ scope: SCOPE, idempotencyKey: key(), changes: changes as never });
            stored += changes.length;
          } catch (e) {
            refused = e;
          }
        }
        expect(refused).toMatchObject({ code: "quota" });
        expect(stored).toBeGreaterThanOrEqual(1500);
        expect(stored).toBeLessThan(3000);
        // What is kept is the tombstones' ids and rows, counted, and within the quota.
        const [row] = await s.db.query<{ bytes: string | number }>(
          "SELECT bytes FROM apps WHERE account_id = 'alice'",
        );
        expect(Number(row?.bytes)).toBeGreaterThan(stored * (256 + STORED_ROW_BYTES));
        expect(Number(row?.bytes)).toBeLessThanOrEqual(1_000_000);
        // The list shows backed-up documents, and an app holding only deletes has none to show.
        expect((await c.catalog()).apps).toEqual([]);
        // A full backup can still be trimmed, and written again once there is room.
        await c.deleteAll(`del-${randomId(systemRuntime)}`);
        await c.push({ scope: SCOPE, idempotencyKey: key(), changes: [put("theme", { v: 1 })] });
      } finally {
        await s.close();
        await fresh.db.close();
        await fresh.drop();
      }
    },
  );

  it.each(["pglite", "postgres"] as const)(
    "limits the rate of requests per token, saying when to come back (Retry-After) (%s)",
    async (kind) => {
      const fresh = await freshDatabase(kind);
      const s = await startServer(fresh.db, [], { rateLimit: { perSecond: 0.5, burst: 3 } });
      try {
        const token = await s.token("alice");
        const answers: Response[] = [];
        for (let i = 0; i < 5; i++) {
          answers.push(
            await fetch(`${s.url}/v1/registry?platform=web`, {
              headers: { authorization: `Bearer ${token}` },
            }),
          );
        }
        expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 429, 429]);
        // One token comes back in 2 s at 0.5 per second: whole seconds, never 0.
        expect(answers[3]?.headers.get("retry-after")).toBe("2");
        expect(await answers[3]?.json()).toMatchObject({ code: "rate-limited", retryable: true });
        // The transport reads it: its error carries the pause.
        const refused = await createHttpTransport({
          baseUrl: s.url,
          token: () => token,
          retry: { attempts: 1 },
        })
          .registry("web")
          .catch((e: unknown) => e);
        expect(refused).toMatchObject({ code: "rate-limited", details: { retryAfterMs: 2000 } });
        const other = await s.token("bob");
        expect(
          (
            await fetch(`${s.url}/v1/registry?platform=web`, {
              headers: { authorization: `Bearer ${other}` },
            })
          ).status,
        ).toBe(200);
        // The limit is the account's, not the token string's: the same account with another token, or the token
        // with its signature altered, gets no fresh bucket.
        const again = await s.token("alice", { device: false });
        const altered = `${token.slice(0, -2)}${token.endsWith("A") ? "B" : "A"}${token.slice(-1)}`;
        const statuses: number[] = [];
        for (const t of [again, `${token}=`, altered]) {
          statuses.push(
            (await fetch(`${s.url}/v1/registry?platform=web`, { headers: { authorization: `Bearer ${t}` } }))
              .status,
          );
        }
        expect(statuses.every((x) => x === 429 || x === 401)).toBe(true);
        expect(statuses[0]).toBe(429);
        // Tokens that fail are limited by client address: after the burst, refused before verification.
        const garbage: number[] = [];
        for (let i = 0; i < 6; i++) {
          garbage.push(
            (
              await fetch(`${s.url}/v1/registry?platform=web`, {
                headers: { authorization: `Bearer junk.${i}.x` },
              })
            ).status,
          );
        }
        expect(garbage.slice(-2)).toEqual([429, 429]);
      } finally {
        await s.close();
        await fresh.db.close();
        await fresh.drop();
      }
    },
  );
});

describe("answers", () => {
  it("carry each conflicting document once, and are kept for retries only so long", async () => {
    let now = Date.parse("2026-12-01T00:00:00Z");
    const db = await openPGlite();
    const s = await startServer(db, openRegistry(["jp.example.mail"]), {
      now: () => now,
      answerTtlMs: 60_000,
    });
    try {
      const scope = { appId: "jp.example.mail", appVersion: "1.0.0", platform: "web" as const };
      const t = s.client("alice");
      await t.push({
        scope,
        idempotencyKey: "answers-1",
        changes: [change("big", { blob: "b".repeat(250 * 1024) }) as PushChange],
      });
      // 100 stale changes of the 250 KB document, as patches: a small request.
      const stale = await t.push({
        scope,
        idempotencyKey: "answers-2",
        changes: Array.from(
          { length: 100 },
          () => change("big", undefined, { patch: [{ op: "add", path: "/x", value: 1 }] }) as PushChange,
        ),
      });
      expect(stale.results[0]).toMatchObject({ status: "conflict", reason: "stale", current: { rev: 1 } });
      expect(stale.results.slice(1).every((r) => r.status === "conflict" && r.omitted && !r.current)).toBe(
        true,
      );
      // Not the document a hundred times over.
      expect(JSON.stringify(stale).length).toBeLessThan(300 * 1024);
      const kept = async () =>
        (
          await db.query<{ n: number | string }>(
            "SELECT count(*) AS n FROM push_answers WHERE account_id = 'alice'",
          )
        )[0]?.n;
      expect(Number(await kept())).toBe(2);
      // Past the answers' time, the next push clears them (beside it, not inside).
      now += 11 * 60_000;
      await t.push({
        scope,
        idempotencyKey: "answers-3",
        changes: [change("small", { v: 1 }) as PushChange],
      });
      await vi.waitFor(async () => expect(Number(await kept())).toBe(1), { timeout: 5_000, interval: 20 });
    } finally {
      await s.close();
      await db.close();
    }
  });
});

describe("slow and greedy clients", () => {
  it("limits the live channels one account holds, and closes a request whose body stalls", async () => {
    const s = await startServer(await openPGlite(), openRegistry(["jp.example.mail"]), {
      maxLiveChannelsPerAccount: 2,
      requestTimeoutMs: 1_000,
    });
    const ends: AbortController[] = [];
    try {
      const token = await s.token("alice");
      const open = async (who = token) => {
        const end = new AbortController();
        ends.push(end);
        return fetch(`${s.url}/v1/live?apps=jp.example.mail`, {
          headers: { authorization: `Bearer ${who}` },
          signal: end.signal,
        });
      };
      expect((await open()).status).toBe(200);
      expect((await open()).status).toBe(200);
      const third = await open();
      expect(third.status).toBe(429);
      expect(third.headers.get("content-type")).toContain("application/problem+json");
      expect(await third.json()).toMatchObject({ code: "rate-limited" });
      // Another account is not held back by it.
      expect((await open(await s.token("bob"))).status).toBe(200);
      // A client that sends its headers and then trickles nothing of its body is cut off.
      const { connect } = await import("node:net");
      const port = Number(new URL(s.url).port);
      const started = Date.now();
      const answer = await new Promise<string>((resolve) => {
        let got = "";
        const socket = connect(port, "127.0.0.1", () => {
          socket.write(
            `POST /v1/apps/jp.example.mail/push HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${token}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{`,
          );
        });
        socket.on("data", (d) => {
          got += d.toString();
        });
        socket.on("close", () => resolve(got));
        setTimeout(() => socket.destroy(), 10_000);
      });
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
      expect(answer).toContain("Content-Type: application/problem+json");
      expect(JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4))).toMatchObject({
        status: 408,
        code: "timeout",
        retryable: true,
      });
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      for (const e of ends) e.abort();
      await s.close();
      await s.db.close();
    }
  });
});

describe("tokens", () => {
  it("verifies ES256 tokens with a public key or a JWKS, and refuses HS256 ones then", async () => {
    const { publicKey, privateKey } = await generateKeyPair("ES256");
    const token = await new SignJWT({ hokan_ent: true })
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .setSubject("alice")
      .setExpirationTime("5m")
      .sign(privateKey);
    const byPem = await createVerifier({ publicKeyPem: await exportSPKI(publicKey) });
    expect(await byPem(token)).toMatchObject({ account: "alice", entitled: true, device: false });
    const byJwks = await createVerifier({
      jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256" }] },
    });
    expect((await byJwks(token)).account).toBe("alice");
    const hs = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("alice")
      .sign(new TextEncoder().encode("x".repeat(40)));
    await expect(byPem(hs)).rejects.toMatchObject({ code: "unauthorized" });
  });

  it("requires an expiry, and the issuer and audience the operator sets; fetches a JWKS from its URL", async () => {
    const secret = "s".repeat(40);
    const key = new TextEncoder().encode(secret);
    const sign = (claims: { iss?: string; aud?: string; exp?: boolean }) => {
      let jwt = new SignJWT({ hokan_ent: true }).setProtectedHeader({ alg: "HS256" }).setSubject("alice");
      if (claims.iss) jwt = jwt.setIssuer(claims.iss);
      if (claims.aud) jwt = jwt.setAudience(claims.aud);
      if (claims.exp !== false) jwt = jwt.setExpirationTime("5m");
      return jwt.sign(key);
    };
    const plain = await createVerifier({ secret });
    await expect(plain(await sign({ exp: false }))).rejects.toMatchObject({ code: "unauthorized" });
    expect((await plain(await sign({}))).account).toBe("alice");
    const strict = await createVerifier({ secret, issuer: "https://id.example.jp", audience: "hokan" });
    await expect(strict(await sign({}))).rejects.toMatchObject({ code: "unauthorized" });
    await expect(strict(await sign({ iss: "https://id.example.jp", aud: "other" }))).rejects.toMatchObject({
      code: "unauthorized",
    });
    expect((await strict(await sign({ iss: "https://id.example.jp", aud: "hokan" }))).account).toBe("alice");
    // An identity provider's key set, served over HTTP on 127.0.0.1.
    const { publicKey, privateKey } = await generateKeyPair("ES256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256" };
    const { createServer } = await import("node:http");
    const idp = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => idp.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(idp.address() as { port: number }).port}/.well-known/jwks.json`;
      const remote = await createVerifier({ jwksUrl: url });
      const token = await new SignJWT({ hokan_ent: true })
        .setProtectedHeader({ alg: "ES256", kid: "k1" })
        .setSubject("bob")
        .setExpirationTime("5m")
        .sign(privateKey);
      expect((await remote(token)).account).toBe("bob");
    } finally {
      await new Promise<void>((r) => idp.close(() => r()));
    }
  });

  it("keeps a verified token's claims only until the token expires", async () => {
    const verify = await createVerifier({ secret: SECRET });
    const token = await new SignJWT({ hokan_ent: true })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("alice")
      .setExpirationTime(Math.floor(Date.now() / 1000) + 2)
      .sign(new TextEncoder().encode(SECRET));
    expect((await verify(token)).account).toBe("alice");
    // Asked again: the kept claims, the same account.
    expect((await verify(token)).account).toBe("alice");
    await new Promise((r) => setTimeout(r, 2_100));
    await expect(verify(token)).rejects.toMatchObject({ code: "unauthorized" });
    // A token changed by one byte is verified afresh, and refused, however often the original passed.
    const forged = `${token.slice(0, -2)}${token.at(-2) === "A" ? "B" : "A"}${token.at(-1)}`;
    await expect(verify(forged)).rejects.toMatchObject({ code: "unauthorized" });
  });

  it("refuses a development secret that is too short", async () => {
    await expect(createVerifier({ secret: "short" })).rejects.toThrow(/32 characters/);
  });
});

describe("registry file", () => {
  it("reports every problem with its path", () => {
    try {
      parseRegistry({
        apps: [
          { appId: "jp.example.mail", platform: "android", capabilities: ["backup"], minVersion: "three" },
          {
            appId: "jp.example.mail",
            platform: "android",
            capabilities: ["teleport"],
            retiredAt: "soon",
            extra: 1,
          },
          { appId: "x", platform: "ios", capabilities: [], minVersionEnforcedFrom: "2027-01-01T00:00:00Z" },
        ],
      });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(RegistryError);
      const problems = (e as RegistryError).problems;
      expect(problems).toEqual([
        'apps[0].minVersion: must be a dotted version like "3.2.0"',
        "apps[1].extra: unknown field",
        "apps[1].capabilities: must be a list of backup, restore, bulkBackup, bulkDelete",
        'apps[1].retiredAt: must be an ISO date like "2027-04-01T00:00:00Z"',
        "apps[1]: jp.example.mail/android is listed twice",
        'apps[2].appId: must be a reverse-DNS id like "jp.example.mail"',
        "apps[2].minVersionEnforcedFrom: needs a minVersion",
      ]);
    }
    expect(() => parseRegistry([])).toThrow(/top level/);
  });

  it("takes an update link only as an https URL, and serves it with the entry", async () => {
    const entry = (updateUrl: unknown) => ({
      apps: [{ appId: "jp.example.mail", platform: "ios", capabilities: ["backup"], updateUrl }],
    });
    for (const bad of ["javascript:alert(1)", "http://apps.example.jp/mail", "apps.example.jp/mail", 42]) {
      expect(() => parseRegistry(entry(bad)), String(bad)).toThrow(
        /apps\[0\]\.updateUrl: must be an https URL/,
      );
    }
    const registry = parseRegistry(entry("https://apps.example.jp/mail?id=1"));
    expect(registry.forPlatform("ios")[0]?.updateUrl).toBe("https://apps.example.jp/mail?id=1");
  });

  it("applies migrations once, however often or however many processes start", async () => {
    const db = await openPGlite();
    const [a, b] = await Promise.all([migrate(db), migrate(db)]);
    expect([...a, ...b]).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await migrate(db)).toEqual([]);
    await db.close();
  });

  it("brings a database of the first schema up to date, its documents kept as edits", async () => {
    const db = await openPGlite();
    // A database an earlier server left: only the first migration, with a document in it.
    const first = MIGRATIONS[0] as (typeof MIGRATIONS)[number];
    await db.query(
      "CREATE TABLE hokan_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
    );
    for (const statement of first.sql
      .split(";")
      .map((x) => x.trim())
      .filter(Boolean))
      await db.query(statement);
    await db.query("INSERT INTO hokan_migrations (version) VALUES (1)");
    await db.query(
      `INSERT INTO apps (account_id, app_id, seq, app_version, platform, documents, bytes) VALUES ('alice', $1, 1, '3.0.0', 'android', 1, 8)`,
      [SCOPE.appId],
    );
    await db.query(
      `INSERT INTO documents (account_id, app_id, collection, id, data, rev, seq, hlc, change_id, updated_at, bytes)
       VALUES ('alice', $1, 'settings', 'theme', '{"v":1}', 1, 1, '000000000000001:000000:x', 'c-1', 1, 7),
              ('alice', $1, 'settings', 'gone', NULL, 2, 2, '000000000000001:000000:x', 'c-2', 1, 0)`,
      [SCOPE.appId],
    );
    expect(await migrate(db)).toEqual(MIGRATIONS.slice(1).map((m) => m.version));
    const s = await startServer(db, [
      { appId: SCOPE.appId, platform: "android", capabilities: ["backup", "restore"] },
    ]);
    const pulled = await s
      .client("alice")
      .pull({ scope: SCOPE, checkpoint: { epoch: 0, seq: 0 }, limit: 10 });
    expect(pulled.documents.map((d) => [d.id, d.data, d.kind])).toEqual([
      ["theme", { v: 1 }, undefined],
      ["gone", null, undefined],
    ]);
    // The bytes are counted as a push counts them now: the tombstone and both documents' ids and rows too.
    const ids = (id: string, changeId: string) =>
      storedBytes({ collection: "settings", id, hlc: "000000000000001:000000:x", changeId }, 0);
    const [app] = (await s.client("alice").catalog()).apps;
    expect(app?.bytes).toBe(7 + ids("theme", "c-1") + ids("gone", "c-2"));
    await s.close();
    await db.close();
  });
});

describe("development tokens", () => {
  it("are signed by the server only when enabled, and work", async () => {
    const off = await startServer(await openPGlite(), []);
    expect(
      (
        await fetch(`${off.url}/v1/dev/token`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: '{"account":"alice"}',
        })
      ).status,
    ).toBe(401);
    await off.close();
    await off.db.close();
    const on = await startServer(await openPGlite(), [], {
      devTokenSecret: "hokan-test-secret-at-least-32-characters!",
    });
    const res = await fetch(`${on.url}/v1/dev/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"account":"alice"}',
    });
    const { token } = (await res.json()) as { token: string };
    expect(
      (await fetch(`${on.url}/v1/catalog`, { headers: { authorization: `Bearer ${token}` } })).status,
    ).toBe(200);
    const bad = await fetch(`${on.url}/v1/dev/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"account":"a b"}',
    });
    expect(bad.status).toBe(400);
    await on.close();
    await on.db.close();
  });
});

describe("migrations on PostgreSQL", () => {
  it("are applied once when several server processes start together", async () => {
    const { openPostgres } = await import("../src/index.js");
    const { scratchDatabase } = await import("../src/testing.js");
    const scratch = await scratchDatabase("postgres", { prefix: "hokan_test" });
    const others = await Promise.all([1, 2, 3].map(() => openPostgres(scratch.url as string, 2)));
    const results = await Promise.all([scratch.db, ...others].map((db) => migrate(db)));
    expect(results.flat()).toEqual(MIGRATIONS.map((m) => m.version));
    for (const db of others) await db.close();
    await scratch.drop();
  });
});

describe("PostgreSQL connections ended under the server", () => {
  it("do not end the process: the pool opens new ones and queries go on", async () => {
    const { openPostgres } = await import("../src/index.js");
    const { scratchDatabase } = await import("../src/testing.js");
    const scratch = await scratchDatabase("postgres", { prefix: "hokan_test" });
    const db = await openPostgres(scratch.url as string, 2);
    const stopListening = await db.listen("hokan_test_channel", () => undefined);
    await db.query("SELECT 1");
    // As a PostgreSQL restart or an administrator would: end every other connection to this database.
    await scratch.db.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(await db.query<{ one: number }>("SELECT 1 AS one")).toEqual([{ one: 1 }]);
    await stopListening().catch(() => undefined);
    await db.close();
    await scratch.drop();
  });
});

describe("planner statistics", () => {
  it("are refreshed when an app's backup crosses 1,024 documents, so pushes keep using the primary key", async () => {
    const { BackupStore } = await import("../src/index.js");
    const { scratchDatabase } = await import("../src/testing.js");
    const { DEFAULT_LIMITS } = await import("@hokan/core");
    const scratch = await scratchDatabase("postgres", { prefix: "hokan_test" });
    await migrate(scratch.db);
    const store = new BackupStore(scratch.db, { limits: DEFAULT_LIMITS });
    const scope = { appId: "jp.example.mail", appVersion: "1.0.0", platform: "web" as const };
    const analysed = async () => {
      const [row] = await scratch.db.query<{ reltuples: number }>(
        "SELECT reltuples FROM pg_class WHERE relname = 'documents'",
      );
      return Number(row?.reltuples);
    };
    const push = (from: number, n: number) =>
      store.push("alice", {
        scope,
        idempotencyKey: `push-key-${from}`,
        changes: Array.from({ length: n }, (_, i) => ({
          collection: "settings",
          id: `d${from + i}`,
          changeId: `c${from + i}`,
          epoch: 1,
          baseRev: 0,
          hlc: "001795564800000:000000:a",
          data: { v: from + i },
        })),
      });
    await push(0, 1000);
    await store.settled();
    expect(await analysed()).toBeLessThan(1); // never analysed yet (-1 on PostgreSQL 14+)
    await push(1000, 100);
    await store.settled();
    expect(await analysed()).toBeGreaterThanOrEqual(1100);
    await scratch.drop();
  });
});

describe("pushes of one app", () => {
  it("hold at most two database connections in the process, and each is answered in turn", async () => {
    const { BackupStore } = await import("../src/index.js");
    const { scratchDatabase } = await import("../src/testing.js");
    const { DEFAULT_LIMITS } = await import("@hokan/core");
    const scratch = await scratchDatabase("postgres", { prefix: "hokan_test" });
    await migrate(scratch.db);
    let open = 0;
    let most = 0;
    const counted = {
      ...scratch.db,
      transaction: async <T>(fn: Parameters<typeof scratch.db.transaction<T>>[0]) => {
        open++;
        most = Math.max(most, open);
        try {
          return await scratch.db.transaction(fn);
        } finally {
          open--;
        }
      },
    };
    const store = new BackupStore(counted, { limits: DEFAULT_LIMITS });
    const scope = { appId: "jp.example.mail", appVersion: "1.0.0", platform: "web" as const };
    const push = (k: number) =>
      store.push("alice", {
        scope,
        idempotencyKey: `turns-key-${k}`,
        changes: [
          {
            collection: "settings",
            id: `d${k}`,
            changeId: `c${k}`,
            epoch: 1,
            baseRev: 0,
            hlc: "001795564800000:000000:a",
            data: { v: k },
          },
        ],
      });
    const answers = await Promise.all([0, 1, 2, 3, 4, 5].map(push));
    // Two transactions at most: one applying, one waiting for the app's lock.
    expect(most).toBe(2);
    const seqs = answers.map((a) => (a.results[0]?.status === "accepted" ? a.results[0].seq : 0));
    expect(seqs.sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6]);
    // A push that fails does not stop the ones queued behind it.
    const failing = store.push("alice", { scope, idempotencyKey: "turns-key-0", changes: [] });
    const after = push(6);
    await expect(failing).rejects.toMatchObject({ code: "idempotency-mismatch" });
    expect((await after).results[0]).toMatchObject({ status: "accepted", seq: 7 });
    await scratch.drop();
  });
});

const WEB_SCOPE = { appId: "jp.example.mail", appVersion: "1.0.0", platform: "web" as const };

/**
 * A BackupStore on a fresh database of `kind` whose transactions start only once two are asked for: two pushes then
 * do all they do before their transaction before either holds the app's lock. `again()` sets up the next pair.
 */
async function pairedStore(kind: "pglite" | "postgres") {
  const { BackupStore } = await import("../src/index.js");
  const { scratchDatabase } = await import("../src/testing.js");
  const { DEFAULT_LIMITS } = await import("@hokan/core");
  const scratch = await scratchDatabase(kind, { prefix: "hokan_test" });
  await migrate(scratch.db);
  let started = 0;
  const paired = {
    ...scratch.db,
    transaction: async <T>(fn: Parameters<typeof scratch.db.transaction<T>>[0]) => {
      started++;
      while (started < 2) await new Promise((r) => setTimeout(r, 5));
      return scratch.db.transaction(fn);
    },
  };
  return {
    store: new BackupStore(paired, { limits: DEFAULT_LIMITS }),
    again: () => {
      started = 0;
    },
    close: async () => {
      await scratch.db.close();
      await scratch.drop();
    },
  };
}

describe("retries racing their push", () => {
  it.each(["pglite", "postgres"] as const)(
    "on %s: a retry sent while its push is applied gets the same answer, and nothing is applied twice",
    async (kind) => {
      // Both copies pass the check for a kept answer before either holds the app's lock.
      const { store, again, close } = await pairedStore(kind);
      const scope = WEB_SCOPE;
      const request = (v: number) => ({
        scope,
        idempotencyKey: "race-key-1",
        changes: [
          {
            collection: "settings",
            id: "theme",
            changeId: `c-theme-${v}`,
            epoch: 1,
            baseRev: 0,
            hlc: "001795564800000:000000:a",
            data: { v },
          },
        ],
      });
      const [first, retry] = await Promise.all([
        store.push("alice", request(1)),
        store.push("alice", request(1)),
      ]);
      expect(retry).toEqual(first);
      expect(first.results[0]).toMatchObject({ status: "accepted", rev: 1, seq: 1 });
      const page = JSON.parse(
        (await store.pullJson("alice", { scope, checkpoint: { epoch: 0, seq: 0 }, limit: 10 })).toString(
          "utf8",
        ),
      ) as { documents: unknown[]; checkpoint: { seq: number } };
      expect(page.documents).toHaveLength(1);
      expect(page.checkpoint.seq).toBe(1);
      // The same key with another body, racing too: one is applied, the other is told the key was used.
      again();
      const other = { ...request(2), idempotencyKey: "race-key-2" };
      const outcomes = await Promise.allSettled([
        store.push("alice", other),
        store.push("alice", { ...request(3), idempotencyKey: "race-key-2" }),
      ]);
      expect(outcomes.map((o) => o.status).sort()).toEqual(["fulfilled", "rejected"]);
      const refused = outcomes.find((o) => o.status === "rejected") as PromiseRejectedResult;
      expect(refused.reason).toMatchObject({ code: "idempotency-mismatch" });
      await close();
    },
  );
});

describe("pushes of two devices racing for one document", () => {
  it.each(["pglite", "postgres"] as const)(
    "on %s: the second is decided against the first's write, though it read the document before",
    async (kind) => {
      // Both do all they do before the app's lock before either takes it.
      const { store, close } = await pairedStore(kind);
      const scope = WEB_SCOPE;
      const push = (device: string, extra: object[] = []) =>
        store.push("alice", {
          scope,
          idempotencyKey: `race-${device}`,
          changes: [
            {
              collection: "settings",
              id: "theme",
              changeId: `c-theme-${device}`,
              epoch: 1,
              baseRev: 0,
              hlc: `001795564800000:000000:${device}`,
              data: { theme: device },
            },
            ...(extra as never[]),
          ],
        });
      const other = {
        collection: "settings",
        id: "font",
        changeId: "c-font-tablet",
        epoch: 1,
        baseRev: 0,
        hlc: "001795564800000:000000:tablet",
        data: { size: 14 },
      };
      const answers = await Promise.all([push("phone"), push("tablet", [other])]);
      const statuses = answers.map((a) => a.results[0]?.status).sort();
      // Exactly one write of the theme wins; the other is told of it, never applied over it unseen.
      expect(statuses).toEqual(["accepted", "conflict"]);
      const loser = answers.find((a) => a.results[0]?.status === "conflict") as (typeof answers)[number];
      const winner = answers.find((a) => a.results[0]?.status === "accepted") as (typeof answers)[number];
      expect(loser.results[0]).toMatchObject({ current: { rev: 1, seq: 1 } });
      expect(winner.results[0]).toMatchObject({ rev: 1, seq: 1 });
      const page = JSON.parse(
        (await store.pullJson("alice", { scope, checkpoint: { epoch: 0, seq: 0 }, limit: 10 })).toString(
          "utf8",
        ),
      ) as { documents: { id: string; rev: number; seq: number }[] };
      const theme = page.documents.find((d) => d.id === "theme");
      expect(theme).toMatchObject({ rev: 1, seq: 1 });
      // The tablet's other document is applied whichever way the race went, after the theme.
      expect(page.documents.map((d) => d.id).sort()).toEqual(["font", "theme"]);
      await close();
    },
  );
});

describe("a push read before a delete of its app", () => {
  it.each(["pglite", "postgres"] as const)(
    "on %s: is decided against the deleted backup, never against the documents it read before",
    async (kind) => {
      const { BackupStore } = await import("../src/index.js");
      const { scratchDatabase } = await import("../src/testing.js");
      const { DEFAULT_LIMITS } = await import("@hokan/core");
      const scratch = await scratchDatabase(kind, { prefix: "hokan_test" });
      await migrate(scratch.db);
      const plain = new BackupStore(scratch.db, { limits: DEFAULT_LIMITS });
      let hold: Promise<void> = Promise.resolve();
      const held = new BackupStore(
        {
          ...scratch.db,
          transaction: async <T>(fn: Parameters<typeof scratch.db.transaction<T>>[0]) => {
            await hold;
            return scratch.db.transaction(fn);
          },
        },
        { limits: DEFAULT_LIMITS },
      );
      const scope = { appId: "jp.example.mail", appVersion: "1.0.0", platform: "web" as const };
      const change = (changeId: string, baseRev: number, v: number) => ({
        collection: "settings",
        id: "theme",
        changeId,
        epoch: 1,
        baseRev,
        hlc: "001795564800000:000000:a",
        data: { v },
      });
      await plain.push("alice", { scope, idempotencyKey: "before-delete", changes: [change("c1", 0, 1)] });
      let release = () => {};
      hold = new Promise((r) => {
        release = r;
      });
      // The push reads the theme (rev 1), then waits; the backup is deleted; then the push goes on.
      const late = held.push("alice", {
        scope,
        idempotencyKey: "after-delete",
        changes: [change("c2", 1, 2)],
      });
      await new Promise((r) => setTimeout(r, 100));
      await plain.delete("alice", [scope.appId], "delete-request-1");
      release();
      const answer = await late;
      expect(answer.epoch).toBe(2);
      expect(answer.results[0]).toEqual({ changeId: "c2", status: "conflict", reason: "epoch" });
      const page = JSON.parse(
        (await plain.pullJson("alice", { scope, checkpoint: { epoch: 0, seq: 0 }, limit: 10 })).toString(
          "utf8",
        ),
      ) as { documents: unknown[] };
      expect(page.documents).toEqual([]);
      await scratch.db.close();
      await scratch.drop();
    },
  );
});

describe("pull pages", () => {
  it("carry every field of each document, its data as stored, deleted ones as null", async () => {
    const { BackupStore, openPGlite } = await import("../src/index.js");
    const { DEFAULT_LIMITS } = await import("@hokan/core");
    const db = await openPGlite();
    await migrate(db);
    const store = new BackupStore(db, { limits: DEFAULT_LIMITS, now: () => 1_795_564_800_000 });
    const scope = {
      appId: "jp.example.mail",
      appVersion: "1.0.0",
      platform: "web" as const,
      schemaVersion: 2,
    };
    const change = (id: string, data: Record<string, unknown> | null, baseRev = 0) => ({
      collection: "settings",
      id,
      changeId: `c-${id}-${baseRev}`,
      epoch: 1,
      baseRev,
      hlc: "001795564800000:000000:a",
      schemaVersion: 2,
      data: data as never,
    });
    const data = { text: 'é \u2028 "quoted" \\', n: 1.5, nested: { list: [1, null, true] } };
    await store.push("alice", {
      scope,
      idempotencyKey: "pull-page-1",
      changes: [change("a", data), change("b", { v: 1 })],
    });
    await store.push("alice", { scope, idempotencyKey: "pull-page-2", changes: [change("b", null, 1)] });
    const bytes = await store.pullJson("alice", { scope, checkpoint: { epoch: 0, seq: 0 }, limit: 10 });
    const page = JSON.parse(bytes.toString("utf8"));
    const common = {
      collection: "settings",
      hlc: "001795564800000:000000:a",
      updatedAt: 1_795_564_800_000,
      schemaVersion: 2,
    };
    expect(page).toEqual({
      epoch: 1,
      reset: false,
      checkpoint: { epoch: 1, seq: 3 },
      more: false,
      serverTime: 1_795_564_800_000,
      documents: [
        { ...common, id: "a", data, rev: 1, seq: 1, changeId: "c-a-0" },
        { ...common, id: "b", data: null, rev: 2, seq: 3, changeId: "c-b-1" },
      ],
    });
    await db.close();
  });
});

describe("live hints after the server's LISTEN connection is lost", () => {
  it("come again: the server listens anew and ends live channels so clients catch up", async () => {
    const { openPostgres } = await import("../src/index.js");
    const { scratchDatabase } = await import("../src/testing.js");
    const { openRegistry } = await import("@hokan/core/testing");
    const scratch = await scratchDatabase("postgres", { prefix: "hokan_test" });
    const db = await openPostgres(scratch.url as string, 4);
    const scope = { appId: "jp.example.mail", appVersion: "1.0.0", platform: "web" as const };
    const on = await startServer(db, openRegistry([scope.appId]));
    const t = on.client("alice");
    const soon = { timeout: 10_000, interval: 20 };
    let firstEnded = false;
    const first = t
      .live([scope])
      .subscribe({ error: () => (firstEnded = true), complete: () => (firstEnded = true) });
    await vi.waitFor(() => expect(on.server.hub.connections).toBe(1), soon);
    // As a PostgreSQL restart or an administrator would: end every other connection to this database.
    await scratch.db.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    );
    // Ended once the server listens again.
    await vi.waitFor(() => expect(firstEnded).toBe(true), soon);
    first.unsubscribe();
    const hints: string[] = [];
    const second = t.live([scope]).subscribe({ next: (e) => hints.push(e.type), error: () => undefined });
    await vi.waitFor(() => expect(on.server.hub.connections).toBe(1), soon);
    const epoch = (await t.pull({ scope, checkpoint: { epoch: 0, seq: 0 }, limit: 1 })).epoch;
    await t.push({
      scope,
      idempotencyKey: "relisten-push-1",
      changes: [
        {
          collection: "settings",
          id: "x",
          changeId: "c-x",
          epoch,
          baseRev: 0,
          hlc: "001795564800000:000000:a",
          data: { v: 1 },
        },
      ],
    });
    await vi.waitFor(() => expect(hints).toContain("changed"), soon);
    second.unsubscribe();
    await on.close();
    await db.close();
    await scratch.drop();
  });
});
