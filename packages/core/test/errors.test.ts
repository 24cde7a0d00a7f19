import { describe, expect, it } from "vitest";
import { ERROR_CODES, ERROR_TABLE, HokanError, isErrorCode } from "../src/index.js";

describe("HokanError", () => {
  it("carries its code, status, retryability and advice", () => {
    const e = new HokanError("upgrade-required", "app 1.0.0 is below 2.0.0");
    expect(e.code).toBe("upgrade-required");
    expect(e.status).toBe(426);
    expect(e.retryable).toBe(false);
    expect(e.message).toContain("Update the app");
    expect(new HokanError("server", "boom", { retryable: false }).retryable).toBe(false);
  });

  it("is recognised across package copies and worker boundaries by name and code", () => {
    const plain = JSON.parse(JSON.stringify(new HokanError("quota", "full")));
    expect(plain).toMatchObject({ name: "HokanError", code: "quota" });
    expect(HokanError.is(plain)).toBe(true);
    expect(HokanError.is(plain, "quota", "network")).toBe(true);
    expect(HokanError.is(plain, "network")).toBe(false);
    expect(HokanError.is({ name: "HokanError", code: "made-up" })).toBe(false);
    expect(HokanError.is(new Error("x"))).toBe(false);
    expect(HokanError.from(plain).code).toBe("quota");
  });

  it("comes back the same after crossing a worker as JSON: message once, details and retryability kept", () => {
    const sent = new HokanError("rate-limited", "socket hung up", {
      retryable: false,
      details: { retryAfterMs: 2000 },
    });
    const plain = JSON.parse(JSON.stringify(sent));
    expect(plain).toMatchObject({ detail: "socket hung up", status: 429, details: { retryAfterMs: 2000 } });
    const back = HokanError.from(plain);
    expect(back.message).toBe(sent.message);
    expect(back.detail).toBe("socket hung up");
    expect(back.details).toEqual({ retryAfterMs: 2000 });
    expect(back.retryable).toBe(false);
    // An older sender's form without `detail`: the advice is still not appended twice.
    const { detail: _, ...older } = plain;
    expect(HokanError.from(older).message).toBe(sent.message);
    expect(HokanError.from(HokanError.from(older).toJSON()).message).toBe(sent.message);
  });

  it("wraps anything else with a fallback code", () => {
    const e = HokanError.from(new TypeError("fetch failed"), "network");
    expect(e.code).toBe("network");
    expect(e.retryable).toBe(true);
    expect(e.cause).toBeInstanceOf(TypeError);
  });

  it("has an HTTP status for every code", () => {
    for (const code of ERROR_CODES) {
      expect(isErrorCode(code)).toBe(true);
      expect(ERROR_TABLE[code].status).toBeGreaterThanOrEqual(400);
      expect(ERROR_TABLE[code].action.length).toBeGreaterThan(10);
    }
  });
});
