import fc from "fast-check";
import semver from "semver";
import { describe, expect, it } from "vitest";
import { compareVersions, isVersion } from "../src/index.js";

describe("app versions", () => {
  it("order numbers part by part, a missing part as 0, and a pre-release below its release", () => {
    const ascending = [
      "1.9.3",
      "1.10.0-alpha",
      "1.10.0-alpha.1",
      "1.10.0-alpha.beta",
      "1.10.0-beta",
      "1.10.0-beta.2",
      "1.10.0-beta.11",
      "1.10.0-rc.1",
      "1.10.0",
      "1.10.0.1",
      "1.10.1",
      "2",
    ];
    for (let i = 0; i < ascending.length; i++) {
      for (let j = 0; j < ascending.length; j++) {
        expect([
          ascending[i],
          ascending[j],
          compareVersions(ascending[i] as string, ascending[j] as string),
        ]).toEqual([ascending[i], ascending[j], Math.sign(i - j)]);
      }
    }
    expect(compareVersions("3.0", "3.0.0")).toBe(0);
    expect(compareVersions("3.0.0+build.5", "3.0.0+build.9")).toBe(0);
    // The minimum version is not met by its own pre-release.
    expect(compareVersions("3.0.0-beta", "3.0.0")).toBe(-1);
    expect(compareVersions("3.0.0-99999999999999999999", "3.0.0-100000000000000000000")).toBe(-1);
  });

  it("accept one to four numbers with SemVer's pre-release and build, and nothing else", () => {
    for (const v of [
      "3",
      "3.1",
      "3.1.0",
      "3.1.0.7",
      "3.1.0-beta.2",
      "3.1.0-x-y.0+sha.5114f85",
      "3.1.0+20261201",
    ])
      expect([v, isVersion(v)]).toEqual([v, true]);
    for (const v of [
      "",
      "v3.1.0",
      "3.1.0.7.1",
      "3..1",
      "3.1.0-",
      "3.1.0-beta..2",
      "3.1.0-beta_2",
      "3.2.0-\u0000",
      "3.1.0+",
    ])
      expect([v, isVersion(v)]).toEqual([v, false]);
    expect(() => compareVersions("3.1.0-", "3.1.0")).toThrow(TypeError);
  });

  it("order every SemVer version as the semver package does", () => {
    const identifier = fc.oneof(
      fc.nat({ max: 30 }).map(String),
      fc.stringMatching(/^[0-9A-Za-z-]{1,6}$/).filter((s) => !/^\d+$/.test(s)),
    );
    const version = fc
      .record({
        numbers: fc.tuple(fc.nat({ max: 12 }), fc.nat({ max: 12 }), fc.nat({ max: 12 })),
        pre: fc.option(fc.array(identifier, { minLength: 1, maxLength: 3 }), { nil: undefined }),
        build: fc.option(fc.stringMatching(/^[0-9A-Za-z-]{1,6}$/), { nil: undefined }),
      })
      .map(
        ({ numbers, pre, build }) =>
          `${numbers.join(".")}${pre ? `-${pre.join(".")}` : ""}${build ? `+${build}` : ""}`,
      )
      .filter((v) => semver.valid(v) !== null);
    fc.assert(
      fc.property(version, version, (a, b) => {
        expect(isVersion(a)).toBe(true);
        expect(compareVersions(a, b)).toBe(semver.compare(a, b));
      }),
      { numRuns: 2000 },
    );
  });
});
