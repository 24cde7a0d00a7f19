import { HokanError } from "@hokan/core";
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  importSPKI,
  type JSONWebKeySet,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from "jose";
import { dropOldest } from "./bounded.js";

/** Who a request is from, as its token says. The account comes from nowhere else. */
export interface Principal {
  readonly account: string;
  /** The account's contract includes backup. */
  readonly entitled: boolean;
  /** Apps the token may touch (absent: all). */
  readonly apps?: readonly string[];
  /** The token is the device's (the settings screen's): it may read the catalog and bulk-delete. */
  readonly device: boolean;
}

/**
 * How tokens are verified: an HS256 secret for development, ES256 public keys for production (one PEM key, a JWKS, or
 * a JWKS fetched from the identity provider's URL and refreshed as it rotates keys). Every token must carry `exp`;
 * with `issuer` or `audience` set, its `iss` or `aud` must match.
 */
export type AuthOptions = (
  | { readonly secret: string }
  | { readonly publicKeyPem: string }
  | { readonly jwks: JSONWebKeySet }
  | { readonly jwksUrl: string }
) & { readonly issuer?: string; readonly audience?: string };

/** Claim names, namespaced so they cannot collide with an identity provider's. */
export const CLAIMS = { entitled: "hokan_ent", apps: "hokan_apps", device: "hokan_device" } as const;

/** Builds the verifier for the configured keys. */
export async function createVerifier(options: AuthOptions): Promise<(token: string) => Promise<Principal>> {
  const check = {
    // A token without an expiry would be good forever.
    requiredClaims: ["exp"],
    ...(options.issuer ? { issuer: options.issuer } : {}),
    ...(options.audience ? { audience: options.audience } : {}),
  };
  let verify: (token: string) => Promise<JWTPayload>;
  if ("secret" in options) {
    if (options.secret.length < 32) throw new Error("the HS256 secret must be at least 32 characters");
    const key = new TextEncoder().encode(options.secret);
    verify = async (t) => (await jwtVerify(t, key, { algorithms: ["HS256"], ...check })).payload;
  } else if ("publicKeyPem" in options) {
    const key = await importSPKI(options.publicKeyPem, "ES256");
    verify = async (t) => (await jwtVerify(t, key, { algorithms: ["ES256"], ...check })).payload;
  } else if ("jwks" in options) {
    const set = createLocalJWKSet(options.jwks);
    verify = async (t) => (await jwtVerify(t, set, { algorithms: ["ES256"], ...check })).payload;
  } else {
    const set = createRemoteJWKSet(new URL(options.jwksUrl));
    verify = async (t) => (await jwtVerify(t, set, { algorithms: ["ES256"], ...check })).payload;
  }
  // A device sends the same token with every request until it expires: its verified claims are kept, so that only its
  // first request pays for the signature (a MAC or an ECDSA check, and jose's key handling). Only tokens that passed
  // are kept, each until its expiry or VERIFIED_TTL_MS, whichever comes first; past VERIFIED_MAX the oldest go.
  const verified = new Map<string, { principal: Principal; until: number }>();
  return async (token) => {
    const known = verified.get(token);
    if (known) {
      if (Date.now() < known.until) return known.principal;
      verified.delete(token);
    }
    const principal = await verifyNow(token);
    verified.set(token, {
      principal: principal.principal,
      until: Math.min(principal.exp, Date.now() + VERIFIED_TTL_MS),
    });
    dropOldest(verified, VERIFIED_MAX);
    return principal.principal;
  };

  async function verifyNow(token: string): Promise<{ principal: Principal; exp: number }> {
    let payload: JWTPayload;
    try {
      payload = await verify(token);
    } catch (error) {
      const reason = (error as { code?: string }).code ?? "invalid";
      throw new HokanError("unauthorized", `the token was refused (${reason})`, { retryable: false });
    }
    if (typeof payload.sub !== "string" || payload.sub.length === 0 || payload.sub.length > 256) {
      throw new HokanError("unauthorized", "the token names no account (sub)");
    }
    const apps = payload[CLAIMS.apps];
    if (apps !== undefined && (!Array.isArray(apps) || apps.some((a) => typeof a !== "string"))) {
      throw new HokanError("unauthorized", `the token's ${CLAIMS.apps} claim must be a list of app ids`);
    }
    return {
      principal: {
        account: payload.sub,
        entitled: payload[CLAIMS.entitled] === true,
        ...(apps === undefined ? {} : { apps: apps as string[] }),
        device: payload[CLAIMS.device] === true,
      },
      // Required above: seconds since the epoch.
      exp: (payload.exp as number) * 1000,
    };
  }
}

/** How long a verified token's claims are kept at most, and how many tokens. */
const VERIFIED_TTL_MS = 10 * 60_000;
const VERIFIED_MAX = 50_000;

/**
 * Signs an HS256 development token. Only for development and tests: production tokens come from the identity
 * provider, signed with ES256.
 */
export async function signDevelopmentToken(
  secret: string,
  claims: {
    account: string;
    entitled?: boolean;
    apps?: readonly string[];
    device?: boolean;
    expiresIn?: string;
  },
): Promise<string> {
  return new SignJWT({
    [CLAIMS.entitled]: claims.entitled ?? true,
    ...(claims.apps ? { [CLAIMS.apps]: claims.apps } : {}),
    [CLAIMS.device]: claims.device ?? true,
  })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(claims.account)
    .setIssuedAt()
    .setExpirationTime(claims.expiresIn ?? "1h")
    .sign(new TextEncoder().encode(secret));
}
