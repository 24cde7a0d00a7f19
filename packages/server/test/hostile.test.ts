import { connect } from "node:net";
import { gzipSync } from "node:zlib";
import type { RegistryEntry } from "@hokan/core";
import { TRANSPORT_TEST_REGISTRY } from "@hokan/core/testing";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { change, type DatabaseKind, freshDatabase, SECRET, startServer } from "./fixtures.js";
import { type ServerUnderTest, startServerProcess } from "./processes.js";

const REGISTRY: readonly RegistryEntry[] = TRANSPORT_TEST_REGISTRY;
const scope = { appVersion: "3.0.0", platform: "android" };
const deep = (n: number): unknown => (n === 0 ? 1 : { a: deep(n - 1) });
const sign = (
  claims: Record<string, unknown>,
  secret = SECRET,
  alg = "HS256",
  expires: string | number = "1h",
) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg })
    .setIssuedAt()
    .setExpirationTime(expires)
    .sign(new TextEncoder().encode(secret));

const gzip = (text: string): Uint8Array<ArrayBuffer> => new Uint8Array(gzipSync(Buffer.from(text)));

interface Case {
  readonly name: string;
  readonly method?: string;
  readonly path: string;
  /** A token, or how to make one. */
  readonly token?: string | ((s: ServerUnderTest) => Promise<string>);
  readonly body?: unknown;
  readonly rawBody?: string | Uint8Array<ArrayBuffer>;
  readonly headers?: Record<string, string>;
  readonly status: number;
  /** The problem code, or the code of the first change's result when `status` is 200. */
  readonly code: string;
}

const attacker = (s: ServerUnderTest) => s.token("mallory");

const CASES: readonly Case[] = [
  {
    name: "no token",
    path: "/v1/apps/jp.example.mail/pull",
    body: { scope, checkpoint: { epoch: 0, seq: 0 } },
    status: 401,
    code: "unauthorized",
  },
  {
    name: "not a bearer token",
    path: "/v1/catalog",
    method: "GET",
    headers: { authorization: "Basic bWFsbG9yeTpwdw==" },
    status: 401,
    code: "unauthorized",
  },
  {
    name: "garbage token",
    path: "/v1/catalog",
    method: "GET",
    token: "not.a.jwt",
    status: 401,
    code: "unauthorized",
  },
  {
    name: "forged signature",
    path: "/v1/catalog",
    method: "GET",
    token: () =>
      sign({ sub: "victim", hokan_ent: true, hokan_device: true }, "another-secret-that-is-long-enough!!"),
    status: 401,
    code: "unauthorized",
  },
  {
    name: "expired token",
    path: "/v1/catalog",
    method: "GET",
    token: () =>
      sign(
        { sub: "victim", hokan_ent: true, hokan_device: true },
        SECRET,
        "HS256",
        Math.floor(Date.now() / 1000) - 60,
      ),
    status: 401,
    code: "unauthorized",
  },
  {
    name: "wrong algorithm (HS512)",
    path: "/v1/catalog",
    method: "GET",
    token: () => sign({ sub: "victim", hokan_ent: true, hokan_device: true }, SECRET, "HS512"),
    status: 401,
    code: "unauthorized",
  },
  {
    name: "unsigned token (alg none)",
    path: "/v1/catalog",
    method: "GET",
    token: `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from('{"sub":"victim","hokan_ent":true,"hokan_device":true}').toString("base64url")}.`,
    status: 401,
    code: "unauthorized",
  },
  {
    name: "token without an expiry (good forever)",
    path: "/v1/catalog",
    method: "GET",
    token: () =>
      new SignJWT({ sub: "victim", hokan_ent: true, hokan_device: true })
        .setProtectedHeader({ alg: "HS256" })
        .setIssuedAt()
        .sign(new TextEncoder().encode(SECRET)),
    status: 401,
    code: "unauthorized",
  },
  {
    name: "token without an account",
    path: "/v1/catalog",
    method: "GET",
    token: () => sign({ hokan_ent: true, hokan_device: true }),
    status: 401,
    code: "unauthorized",
  },
  {
    name: "malformed apps claim",
    path: "/v1/catalog",
    method: "GET",
    token: () => sign({ sub: "mallory", hokan_ent: true, hokan_apps: "all" }),
    status: 401,
    code: "unauthorized",
  },
  {
    name: "account without entitlement",
    path: "/v1/apps/jp.example.mail/push",
    token: (s) => s.token("mallory", { entitled: false }),
    body: { scope, idempotencyKey: "k-00000001", changes: [change("a", { v: 1 })] },
    status: 403,
    code: "not-entitled",
  },
  {
    name: "app the token does not allow",
    path: "/v1/apps/jp.example.mail/pull",
    token: (s) => s.token("mallory", { apps: ["jp.example.notes"] }),
    body: { scope, checkpoint: { epoch: 0, seq: 0 } },
    status: 403,
    code: "forbidden",
  },
  {
    name: "catalog with an app's token",
    path: "/v1/catalog",
    method: "GET",
    token: (s) => s.token("mallory", { device: false }),
    status: 403,
    code: "forbidden",
  },
  {
    name: "bulk delete with an app's token",
    path: "/v1/bulk-delete",
    token: (s) => s.token("victim", { device: false }),
    body: { requestId: "req-00000001" },
    status: 403,
    code: "forbidden",
  },
  {
    name: "unknown app",
    path: "/v1/apps/jp.example.unknown/push",
    token: attacker,
    body: { scope, idempotencyKey: "k-00000002", changes: [change("a", { v: 1 })] },
    status: 404,
    code: "unsupported",
  },
  {
    name: "retired app",
    path: "/v1/apps/jp.example.old/push",
    token: attacker,
    body: {
      scope: { ...scope, appVersion: "1.0.0" },
      idempotencyKey: "k-00000003",
      changes: [change("a", { v: 1 })],
    },
    status: 410,
    code: "retired",
  },
  {
    name: "below the minimum version",
    path: "/v1/apps/jp.example.strict/push",
    token: attacker,
    body: {
      scope: { ...scope, appVersion: "1.0.0" },
      idempotencyKey: "k-00000004",
      changes: [change("a", { v: 1 })],
    },
    status: 426,
    code: "upgrade-required",
  },
  {
    name: "capability not on this platform",
    path: "/v1/apps/jp.example.mail/push",
    token: attacker,
    body: {
      scope: { ...scope, platform: "ios" },
      idempotencyKey: "k-00000005",
      changes: [change("a", { v: 1 })],
    },
    status: 403,
    code: "capability",
  },
  {
    name: "body that is not JSON",
    path: "/v1/apps/jp.example.mail/push",
    token: attacker,
    rawBody: "{ this is not json",
    status: 400,
    code: "bad-request",
  },
  {
    name: "body over the size limit",
    path: "/v1/apps/jp.example.mail/push",
    token: attacker,
    rawBody: JSON.stringify({
      scope,
      idempotencyKey: "k-00000006",
      changes: [change("a", { blob: "x".repeat(9 * 2 ** 20) })],
    }),
    status: 413,
    code: "payload-too-large",
  },
  {
    name: "gzip bomb (12 MiB of zeros in a few KiB)",
    path: "/v1/apps/jp.example.mail/push",
    token: attacker,
    headers: { "content-encoding": "gzip" },
    rawBody: gzip(
      `{"scope":{"appVersion":"3.0.0","platform":"android"},"pad":"${"0".repeat(12 * 2 ** 20)}"}`,
    ),
    status: 413,
    code: "payload-too-large",
  },
  {
    name: "corrupt gzip body",
    path: "/v1/apps/jp.example.mail/push",
    token: attacker,
    headers: { "content-encoding": "gzip" },
    rawBody: "not gzip at all",
    status: 400,
    code: "bad-request",
  },
  {
    name: "unsupported content encoding",
    path: "/v1/apps/jp.example.mail/push",
    token: attacker,
    headers: { "content-encoding": "br" },
    rawBody: "{}",
    status: 400,
    code: "bad-request",
  },
  {
    name: "too many changes in one push",
    path: "/v1/apps/jp.example.mail/push",
    token: attacker,
    body: {
      scope,
      idempotencyKey: "k-00000007",
      changes: Array.from({ length: 1001 }, (_, i) => change(`m${i}`, { i })),
    },
    status: 413,
    code: "batch-too-large",
  },
  {
    name: "changes that are not a list",
    path: "/v1/apps/jp.example.mail/push",
    token: attacker,
    body: { scope, idempotencyKey: "k-00000008", changes: { a: 1 } },
    status: 400,
    code: "bad-request",
  },
  {
    name: "idempotency key too short",
    path: "/v1/apps/jp.example.mail/push",
    token: attacker,
    body: { scope, idempotencyKey: "k", changes: [] },
    status: 400,
    code: "bad-request",
  },
  {
    name: "negative checkpoint",
    path: "/v1/apps/jp.example.mail/pull",
    token: attacker,
    body: { scope, checkpoint: { epoch: -1, seq: -5 } },
    status: 400,
    code: "bad-request",
  },
  {
    name: "checkpoint that is not an object",
    path: "/v1/apps/jp.example.mail/pull",
    token: attacker,
    body: { scope, checkpoint: "latest" },
    status: 400,
    code: "bad-request",
  },
  {
    name: "zero limit",
    path: "/v1/apps/jp.example.mail/pull",
    token: attacker,
    body: { scope, checkpoint: { epoch: 0, seq: 0 }, limit: 0 },
    status: 400,
    code: "bad-request",
  },
  {
    name: "unknown platform",
    path: "/v1/apps/jp.example.mail/pull",
    token: attacker,
    body: { scope: { ...scope, platform: "tv" }, checkpoint: { epoch: 0, seq: 0 } },
    status: 400,
    code: "bad-request",
  },
  {
    name: "scope naming another app than the path",
    path: "/v1/apps/jp.example.mail/pull",
    token: attacker,
    body: { scope: { ...scope, appId: "jp.example.notes" }, checkpoint: { epoch: 0, seq: 0 } },
    status: 400,
    code: "bad-request",
  },
  {
    name: "other protocol version",
    path: "/v1/apps/jp.example.mail/pull",
    token: attacker,
    headers: { "hokan-protocol": "2" },
    body: { scope, checkpoint: { epoch: 0, seq: 0 } },
    status: 400,
    code: "protocol",
  },
  {
    name: "unknown route",
    path: "/v1/admin/accounts",
    method: "GET",
    token: attacker,
    status: 404,
    code: "not-found",
  },
  {
    name: "headers past 16 KiB",
    path: "/v1/catalog",
    method: "GET",
    token: attacker,
    headers: { "x-padding": "a".repeat(20_000) },
    status: 431,
    code: "bad-request",
  },
  {
    name: "delete without a request id",
    method: "DELETE",
    path: "/v1/apps/jp.example.mail",
    token: attacker,
    body: {},
    status: 400,
    code: "bad-request",
  },
  {
    name: "live for no app",
    method: "GET",
    path: "/v1/live",
    token: attacker,
    status: 400,
    code: "bad-request",
  },
  {
    name: "live for an app the token does not allow",
    method: "GET",
    path: "/v1/live?apps=jp.example.mail",
    token: (s) => s.token("mallory", { apps: ["jp.example.notes"] }),
    status: 403,
    code: "forbidden",
  },
  {
    name: "live for an app the token does not allow, by scope",
    method: "GET",
    path: "/v1/live?scope=jp.example.mail,android,3.0.0",
    token: (s) => s.token("mallory", { apps: ["jp.example.notes"] }),
    status: 403,
    code: "forbidden",
  },
  ...[
    "jp.example.mail,android",
    "jp.example.mail,tv,3.0.0",
    "jp.example.mail,android,three",
    "jp.example.mail,android,3.0.0,extra",
    "jp/example,android,3.0.0",
  ].map((scope) => ({
    name: `live with a bad scope: ${scope}`,
    method: "GET" as const,
    path: `/v1/live?scope=${encodeURIComponent(scope)}`,
    token: attacker,
    status: 400,
    code: "bad-request",
  })),
  {
    name: "registry for an unknown platform",
    method: "GET",
    path: "/v1/registry?platform=tv",
    token: attacker,
    status: 400,
    code: "bad-request",
  },
  {
    name: "document nested too deep",
    path: "/v1/apps/jp.example.mail/push",
    token: attacker,
    body: { scope, idempotencyKey: "k-00000009", changes: [change("deep", deep(40))] },
    status: 200,
    code: "payload-too-large",
  },
  {
    name: "document over the size limit",
    path: "/v1/apps/jp.example.mail/push",
    token: attacker,
    body: { scope, idempotencyKey: "k-00000010", changes: [change("big", { blob: "y".repeat(300 * 1024) })] },
    status: 200,
    code: "payload-too-large",
  },
  {
    name: "patch that does not apply",
    path: "/v1/apps/jp.example.mail/push",
    token: attacker,
    body: {
      scope,
      idempotencyKey: "k-00000011",
      changes: [{ ...change("p", undefined, { baseRev: 0 }), patch: [{ op: "remove", path: "/x" }] }],
    },
    status: 200,
    code: "bad-patch",
  },
  {
    name: "control characters in an id",
    path: "/v1/apps/jp.example.mail/push",
    token: attacker,
    body: { scope, idempotencyKey: "k-00000012", changes: [change("a\u0001b", { v: 1 })] },
    status: 200,
    code: "bad-request",
  },
  {
    name: "one document twice in one push",
    path: "/v1/apps/jp.example.mail/push",
    token: attacker,
    body: {
      scope,
      idempotencyKey: "k-00000014",
      changes: [change("twice", { v: 1 }), change("twice", { v: 2 }, { baseRev: 1 })],
    },
    status: 200,
    code: "accepted",
  },
  {
    name: "the victim's account named in the body",
    path: "/v1/apps/jp.example.mail/push",
    token: attacker,
    body: {
      account: "victim",
      accountId: "victim",
      scope: { ...scope, account: "victim" },
      idempotencyKey: "k-00000013",
      changes: [change("secret", { owned: "mallory" }, { account: "victim" })],
    },
    status: 200,
    code: "accepted",
  },
  // Ordinary bad input: a clear 4xx or a per-change refusal that names the change, never a retryable 500.
  ...(
    [
      ["a NUL in a data string", change("nul-value", { s: "a\u0000b" })],
      ["a NUL in a data key", change("nul-key", { "a\u0000b": 1 })],
      ["a lone surrogate in a data string (half an emoji)", change("half-emoji", { s: "\ud83d" })],
      ["a lone surrogate in a data key", change("half-emoji-key", { "\udc00": 1 })],
    ] as const
  ).map(
    ([name, c], i): Case => ({
      name,
      path: "/v1/apps/jp.example.mail/push",
      token: attacker,
      body: { scope, idempotencyKey: `k-bad-doc-${i}`, changes: [c] },
      status: name.includes("deep") ? 200 : 400,
      code: name.includes("deep") ? "payload-too-large" : "bad-request",
    }),
  ),
  {
    // Built as text: JSON.stringify itself overflows the stack on it.
    name: "a document nested 10,000 deep",
    path: "/v1/apps/jp.example.mail/push",
    token: attacker,
    rawBody: `{"scope":${JSON.stringify(scope)},"idempotencyKey":"k-very-deep-1","changes":[${JSON.stringify(
      change("very-deep", null),
    ).replace('"data":null', `"data":${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}`)}]}`,
    status: 200,
    code: "payload-too-large",
  },
  ...(
    [
      ["a patch onto __proto__", [{ op: "add", path: "/__proto__/polluted", value: true }]],
      ["a patch onto constructor/prototype", [{ op: "add", path: "/constructor/prototype/x", value: 1 }]],
      ["a patch op outside RFC 6902 (_get)", [{ op: "_get", path: "/v", value: 1 }]],
      ["a patch that is not a list", { op: "add", path: "/v", value: 1 }],
    ] as const
  ).map(
    ([name, patch], i): Case => ({
      name,
      path: "/v1/apps/jp.example.mail/push",
      token: attacker,
      body: {
        scope,
        idempotencyKey: `k-bad-patch-${i}`,
        changes: [{ ...change("patched", undefined), patch }],
      },
      status: 200,
      code: "bad-patch",
    }),
  ),
  ...(
    [
      [
        "a NUL in a change's hlc",
        { changes: [change("h", { v: 1 }, { hlc: "000000000000001:000000:\u0000" })] },
      ],
      ["a NUL in a change id", { changes: [change("c", { v: 1 }, { changeId: "c-\u0000" })] }],
      ["a lone surrogate in a document id", { changes: [change("\ud800", { v: 1 })] }],
      ["a lone surrogate in a collection", { changes: [change("x", { v: 1 }, { collection: "s\udfff" })] }],
      ["a schema version past 32 bits in the scope", { scope: { ...scope, schemaVersion: 2147483648 } }],
      ["a NUL in the app version", { scope: { ...scope, appVersion: "3.2.0-\u0000" } }],
      ["a change that is null", { changes: [null] }],
      ["a change that is a string", { changes: ["change"] }],
    ] as const
  ).map(
    ([name, over], i): Case => ({
      name,
      path: "/v1/apps/jp.example.mail/push",
      token: attacker,
      body: { scope, idempotencyKey: `k-bad-envelope-${i}`, changes: [change("fine", { v: 1 })], ...over },
      status: 400,
      code: "bad-request",
    }),
  ),
  // A change the server cannot take, named in its own result (the rest of the push goes on).
  ...(
    [
      ["a schema version past 32 bits in a change", { schemaVersion: 2147483648 }],
      ["an epoch past 2^53", { epoch: 2 ** 53 }],
      ["a base revision that is a float", { baseRev: 0.5 }],
      ["a control character in an hlc", { hlc: "000000000000001:000000:\u0001" }],
    ] as const
  ).map(
    ([name, over], i): Case => ({
      name,
      path: "/v1/apps/jp.example.mail/push",
      token: attacker,
      body: { scope, idempotencyKey: `k-bad-change-${i}`, changes: [change(`odd-${i}`, { v: 1 }, over)] },
      status: 200,
      code: "bad-request",
    }),
  ),
  {
    name: "a NUL as the app id of a delete",
    method: "DELETE",
    path: "/v1/apps/%00",
    token: attacker,
    body: { requestId: "req-nul-app" },
    status: 400,
    code: "bad-request",
  },
  {
    name: "a path escape as the app id of a delete",
    method: "DELETE",
    path: "/v1/apps/..%2F..",
    token: attacker,
    body: { requestId: "req-dotdot-app" },
    status: 400,
    code: "bad-request",
  },
  {
    name: "an app id of 150 characters (not in the registry)",
    path: `/v1/apps/${"a".repeat(150)}/pull`,
    token: attacker,
    body: { scope, checkpoint: { epoch: 0, seq: 0 } },
    status: 404,
    code: "unsupported",
  },
  {
    name: "an app id of 1,500 characters",
    path: `/v1/apps/${"a".repeat(1500)}/pull`,
    token: attacker,
    body: { scope, checkpoint: { epoch: 0, seq: 0 } },
    status: 400,
    code: "bad-request",
  },
  {
    name: "an app id of 5,000 characters (past the router's limit)",
    path: `/v1/apps/${"a".repeat(5000)}/pull`,
    token: attacker,
    body: { scope, checkpoint: { epoch: 0, seq: 0 } },
    status: 400,
    code: "bad-request",
  },
  {
    name: "deleting the victim's app by path with one's own token",
    method: "DELETE",
    path: "/v1/apps/jp.example.mail",
    token: attacker,
    body: { requestId: "req-00000002" },
    status: 200,
    code: "deleted",
  },
  {
    name: "a delete's request id reused for another app",
    method: "DELETE",
    path: "/v1/apps/jp.example.notes",
    token: attacker,
    // The request id of the delete below, of another app: not its stored answer.
    body: { requestId: "req-00000002" },
    status: 422,
    code: "idempotency-mismatch",
  },
  {
    // The victim's own device token, but limited to another app: the victim's mail backup must survive (checked last).
    name: "a bulk delete with a device token limited to one app",
    path: "/v1/bulk-delete",
    token: (s) => s.token("victim", { device: true, apps: ["jp.example.notes"] }),
    body: { requestId: "req-limited-bulk" },
    status: 200,
    code: "deleted",
  },
  {
    name: "a __proto__ key in a document",
    path: "/v1/apps/jp.example.mail/push",
    token: attacker,
    rawBody: `{"scope":${JSON.stringify(scope)},"idempotencyKey":"k-proto-key-1","changes":[${JSON.stringify(
      change("proto", null),
    ).replace('"data":null', '"data":{"__proto__":{"polluted":true}}')}]}`,
    status: 400,
    code: "bad-request",
  },
  {
    name: "a 100 KB document, to patch next",
    path: "/v1/apps/jp.example.notes/push",
    token: attacker,
    body: {
      scope,
      idempotencyKey: "k-bomb-base-1",
      changes: [change("bomb", { blob: "z".repeat(100 * 1024) })],
    },
    status: 200,
    code: "accepted",
  },
  {
    // Each copy of the whole document into itself doubles it: a dozen in a few hundred bytes of request.
    name: "a patch of 12 doubling copies",
    path: "/v1/apps/jp.example.notes/push",
    token: attacker,
    body: {
      scope,
      idempotencyKey: "k-bomb-copy-1",
      changes: [
        {
          ...change("bomb", undefined, { baseRev: 1 }),
          data: undefined,
          patch: Array.from({ length: 12 }, (_, i) => ({
            op: "copy",
            from: "",
            path: `/c${i}`,
          })),
        },
      ],
    },
    status: 200,
    code: "payload-too-large",
  },
  {
    name: "a patch of 2,000 operations",
    path: "/v1/apps/jp.example.notes/push",
    token: attacker,
    body: {
      scope,
      idempotencyKey: "k-many-ops-1",
      changes: [
        {
          ...change("bomb", undefined, { baseRev: 1 }),
          data: undefined,
          patch: Array.from({ length: 2000 }, (_, i) => ({ op: "test", path: "/blob", value: i })),
        },
      ],
    },
    status: 200,
    code: "bad-patch",
  },
  // Envelopes of every route.
  ...(
    [
      [
        "an empty bearer token",
        "GET",
        "/v1/catalog",
        undefined,
        { authorization: "Bearer " },
        401,
        "unauthorized",
      ],
      [
        "a token in the query string only",
        "GET",
        "/v1/catalog?access_token=x",
        undefined,
        { authorization: "" },
        401,
        "unauthorized",
      ],
      [
        "a protocol version that is not a number",
        "GET",
        "/v1/registry?platform=web",
        undefined,
        { "hokan-protocol": "x" },
        400,
        "protocol",
      ],
      ["a registry without a platform", "GET", "/v1/registry", undefined, {}, 400, "bad-request"],
      ["the catalog by POST", "POST", "/v1/catalog", {}, {}, 404, "not-found"],
      [
        "a pull whose limit is a string",
        "POST",
        "/v1/apps/jp.example.mail/pull",
        { scope, checkpoint: { epoch: 0, seq: 0 }, limit: "10" },
        {},
        400,
        "bad-request",
      ],
      [
        "a pull from a checkpoint past 2^53",
        "POST",
        "/v1/apps/jp.example.mail/pull",
        { scope, checkpoint: { epoch: 0, seq: 2 ** 60 } },
        {},
        400,
        "bad-request",
      ],
      [
        "a pull whose checkpoint epoch is a string",
        "POST",
        "/v1/apps/jp.example.mail/pull",
        { scope, checkpoint: { epoch: "1", seq: 0 } },
        {},
        400,
        "bad-request",
      ],
      [
        "a scope that is a list",
        "POST",
        "/v1/apps/jp.example.mail/pull",
        { scope: [scope], checkpoint: { epoch: 0, seq: 0 } },
        {},
        400,
        "bad-request",
      ],
      [
        "a push without changes",
        "POST",
        "/v1/apps/jp.example.mail/push",
        { scope, idempotencyKey: "k-no-changes" },
        {},
        400,
        "bad-request",
      ],
      [
        "an idempotency key with spaces",
        "POST",
        "/v1/apps/jp.example.mail/push",
        { scope, idempotencyKey: "k with spaces", changes: [] },
        {},
        400,
        "bad-request",
      ],
      [
        "an idempotency key of 200 characters",
        "POST",
        "/v1/apps/jp.example.mail/push",
        { scope, idempotencyKey: "k".repeat(200), changes: [] },
        {},
        400,
        "bad-request",
      ],
      ["a body that is JSON null", "POST", "/v1/apps/jp.example.mail/push", null, {}, 400, "bad-request"],
      ["a body that is a JSON list", "POST", "/v1/apps/jp.example.mail/push", [], {}, 400, "bad-request"],
      [
        "a delete whose request id is too short",
        "DELETE",
        "/v1/apps/jp.example.mail",
        { requestId: "short" },
        {},
        400,
        "bad-request",
      ],
      [
        "a delete whose request id has a slash",
        "DELETE",
        "/v1/apps/jp.example.mail",
        { requestId: "req/../../x" },
        {},
        400,
        "bad-request",
      ],
      [
        "a bulk delete for an unknown platform",
        "POST",
        "/v1/bulk-delete",
        { requestId: "req-bad-platform", platform: "windows" },
        {},
        400,
        "bad-request",
      ],
      [
        "a live channel for 101 apps",
        "GET",
        `/v1/live?apps=${Array.from({ length: 101 }, (_, i) => `jp.example.a${i}`).join(",")}`,
        undefined,
        {},
        400,
        "bad-request",
      ],
    ] as const
  ).map(
    ([name, method, path, body, headers, status, code]): Case => ({
      name,
      method,
      path,
      token: attacker,
      ...(body === undefined ? {} : { body }),
      headers: { ...headers },
      status,
      code,
    }),
  ),
  // Changes the server refuses one by one, each named in its result.
  ...(
    [
      ["a change id of 300 characters", { changeId: "c".repeat(300) }, "bad-request"],
      ["an empty collection", { collection: "" }, "bad-request"],
      ["data that is a list", { data: [1, 2] }, "bad-request"],
      ["both data and a patch", { patch: [{ op: "add", path: "/v", value: 1 }] }, "bad-request"],
      ["a kind that is not default", { kind: "weird" }, "bad-request"],
      ["a default that is a patch", { kind: "default", data: undefined, patch: [] }, "bad-request"],
      [
        "a patch whose path is not a string",
        { data: undefined, patch: [{ op: "add", path: 3, value: 1 }] },
        "bad-patch",
      ],
      [
        "a patch moving what is not there",
        { data: undefined, patch: [{ op: "move", from: "/nothing", path: "/x" }] },
        "bad-patch",
      ],
    ] as const
  ).map(
    ([name, over, code], i): Case => ({
      name,
      path: "/v1/apps/jp.example.notes/push",
      token: attacker,
      body: {
        scope,
        idempotencyKey: `k-odd-change-${i}`,
        changes: [change(`odd-change-${i}`, { v: 1 }, over)],
      },
      status: 200,
      code,
    }),
  ),
];

/**
 * Asks /v1/health again and again, one after another, until `work` settles (at least once): how long each answer took.
 * Bounded in count, as every load loop here.
 */
async function healthWhile(url: string, work: Promise<unknown>): Promise<number[]> {
  let done = false;
  void work.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  const waits: number[] = [];
  for (let i = 0; i < 2_000 && (i === 0 || !done); i++) {
    const t = performance.now();
    await fetch(`${url}/v1/health`).then((r) => r.json());
    waits.push(performance.now() - t);
  }
  return waits;
}

for (const kind of ["pglite", "postgres"] as DatabaseKind[]) {
  describe(`${CASES.length} hostile or malformed requests (${kind})`, () => {
    let s: ServerUnderTest;
    let before: unknown;
    /** How long /v1/health took to answer, asked one after another while each request of the suite ran. */
    const health: number[] = [];
    const outcomes: { name: string; status: number; code: string; healthMs: number }[] = [];
    const victimView = async () => {
      const victim = s.client("victim");
      const pulled = await victim.pull({
        scope: { appId: "jp.example.mail", appVersion: "3.0.0", platform: "android" },
        checkpoint: { epoch: 0, seq: 0 },
        limit: 100,
      });
      const catalog = await victim.catalog();
      return { documents: pulled.documents, epoch: pulled.epoch, catalog };
    };

    beforeAll(async () => {
      // The server in its own process, as an operator runs it: /v1/health's wait is the server's, not the suite's.
      s = await startServerProcess(kind, REGISTRY);
      const victim = s.client("victim");
      await victim.push({
        scope: { appId: "jp.example.mail", appVersion: "3.0.0", platform: "android" },
        idempotencyKey: "victim-key-1",
        changes: [change("secret", { pin: 1234 }), change("consent", { tos: 3 })] as never,
      });
      before = await victimView();
    });
    afterAll(async () => {
      await s.close();
    });

    for (const c of CASES) {
      it(`${c.name} → ${c.status} ${c.code}`, async () => {
        const token = typeof c.token === "function" ? await c.token(s) : c.token;
        const sent = fetch(`${s.url}${c.path}`, {
          method: c.method ?? "POST",
          headers: {
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(c.body !== undefined || c.rawBody !== undefined
              ? { "content-type": "application/json" }
              : {}),
            ...c.headers,
          },
          ...(c.rawBody !== undefined
            ? { body: c.rawBody }
            : c.body !== undefined
              ? { body: JSON.stringify(c.body) }
              : {}),
        });
        const waits = await healthWhile(s.url, sent);
        health.push(...waits);
        const res = await sent;
        const healthMs = Math.max(...waits);
        outcomes.push({ name: c.name, status: res.status, code: c.code, healthMs });
        expect(res.status).toBe(c.status);
        // No request may hold up the server: its health answers within 250 ms while the request runs.
        expect(healthMs).toBeLessThan(250);
        const body = (await res.json()) as Record<string, unknown>;
        if (c.status !== 200) {
          expect(res.headers.get("content-type")).toContain("application/problem+json");
          expect(body).toMatchObject({ status: c.status, code: c.code });
          expect(String(body.detail).length).toBeGreaterThan(5);
        } else if (c.code === "deleted") {
          expect(body).toHaveProperty("apps");
        } else {
          const result = (body.results as { status: string; code?: string }[])[0];
          expect(result?.status === "rejected" ? result.code : result?.status).toBe(c.code);
        }
      });
    }

    it("refuses a copy bomb before the work: /v1/health keeps answering within 250 ms meanwhile", async () => {
      const token = await attacker(s);
      const bomb = fetch(`${s.url}/v1/apps/jp.example.notes/push`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({
          scope,
          idempotencyKey: "k-bomb-copy-2",
          changes: [
            {
              ...change("bomb", undefined, { baseRev: 1 }),
              data: undefined,
              patch: Array.from({ length: 14 }, (_, i) => ({
                op: "copy",
                from: "",
                path: `/c${i}`,
              })),
            },
          ],
        }),
      }).then(async (r) => ((await r.json()) as { results: { code?: string }[] }).results[0]?.code);
      const waits = await healthWhile(s.url, bomb);
      expect(await bomb).toBe("payload-too-large");
      expect(Math.max(...waits)).toBeLessThan(250);
    });

    it("kept /v1/health answering throughout, and says what it sent", async () => {
      const sorted = [...health].sort((a, b) => a - b);
      const by = new Map<string, number>();
      for (const o of outcomes) by.set(`${o.status} ${o.code}`, (by.get(`${o.status} ${o.code}`) ?? 0) + 1);
      const slowest = [...outcomes].sort((a, b) => b.healthMs - a.healthMs).slice(0, 3);
      console.log(
        `[${kind}] ${outcomes.length} hostile requests: ${[...by.entries()]
          .sort()
          .map(([k, n]) => `${k} ×${n}`)
          .join(", ")}; /v1/health asked ${health.length} times while they ran, p50 ${sorted[
          Math.floor(sorted.length / 2)
        ]?.toFixed(1)} ms, max ${sorted.at(-1)?.toFixed(1)} ms (slowest beside: ${slowest
          .map((o) => `${o.name} ${o.healthMs.toFixed(1)} ms`)
          .join("; ")})`,
      );
      expect(outcomes.length).toBeGreaterThanOrEqual(100);
      expect(health.length).toBeGreaterThanOrEqual(outcomes.length);
      expect(sorted.at(-1)).toBeLessThan(250);
      // And still within 100 ms once it is over.
      const t = performance.now();
      await fetch(`${s.url}/v1/health`).then((r) => r.json());
      expect(performance.now() - t).toBeLessThan(100);
    });

    it("left the victim's stored data exactly as it was", async () => {
      expect(await victimView()).toEqual(before);
      expect((before as { documents: unknown[] }).documents).toHaveLength(2);
    });
  });
}

describe("a body refused for its declared length", () => {
  /** Sends a push declaring `length` bytes and writes `sent` of them; resolves with what came back and whether the server closed. */
  const declare = async (url: string, token: string, length: number, sent: number) => {
    const socket = connect(Number(new URL(url).port), "127.0.0.1");
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    let answer = "";
    socket.on("data", (chunk) => {
      answer += chunk.toString();
    });
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.on("error", () => undefined);
    socket.write(
      `POST /v1/apps/jp.example.mail/push HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n\r\n`,
    );
    socket.write(Buffer.alloc(sent, 0x20));
    return { socket, closed, answer: () => answer };
  };

  it("lets its client finish sending and read the 413 on a connection kept, unless the body is past all reason", async () => {
    const { db, drop } = await freshDatabase("pglite");
    const s = await startServer(db, TRANSPORT_TEST_REGISTRY, { bodyLimit: 1024 });
    try {
      const token = await s.token("alice");
      // Over the limit, and sent whole: the answer comes, and the connection serves the next request.
      const kept = await declare(s.url, token, 200_000, 200_000);
      await expect.poll(() => kept.answer(), { timeout: 5_000 }).toMatch(/^HTTP\/1\.1 413 /);
      expect(kept.answer().toLowerCase()).not.toContain("connection: close");
      kept.socket.write("GET /v1/health HTTP/1.1\r\nhost: x\r\n\r\n");
      await expect.poll(() => kept.answer(), { timeout: 5_000 }).toMatch(/HTTP\/1\.1 200 [\s\S]*"ok":true/);
      kept.socket.destroy();
      // Declared past 64 MiB: answered, and cut.
      const cut = await declare(s.url, token, 65 * 2 ** 20 + 1, 1_000);
      await cut.closed;
      expect(cut.answer()).toMatch(/^HTTP\/1\.1 413 /);
      expect(cut.answer().toLowerCase()).toContain("connection: close");
    } finally {
      await s.close();
      await db.close();
      await drop();
    }
  });
});
