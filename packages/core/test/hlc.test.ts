import { describe, expect, it } from "vitest";
import { compareHlc, decodeHlc, encodeHlc, HLC_ZERO, HybridLogicalClock } from "../src/index.js";

describe("hybrid logical clock", () => {
  it("encodes times that sort as strings in time order", () => {
    const times = [
      { wall: 5, counter: 0, node: "b" },
      { wall: 5, counter: 10, node: "a" },
      { wall: 40, counter: 0, node: "a" },
      { wall: 1_795_564_800_000, counter: 2, node: "z" },
    ].map(encodeHlc);
    expect([...times].sort()).toEqual(times);
    expect(decodeHlc(times[1] as string)).toEqual({ wall: 5, counter: 10, node: "a" });
    expect(compareHlc(HLC_ZERO, times[0] as string)).toBe(-1);
    expect(() => decodeHlc("nonsense")).toThrow(TypeError);
  });

  it("never goes backwards, even when the wall clock does", () => {
    let wall = 1000;
    const clock = new HybridLogicalClock("dev", () => wall);
    const a = clock.tick();
    wall = 500;
    const b = clock.tick();
    const c = clock.tick();
    expect(compareHlc(a, b)).toBe(-1);
    expect(compareHlc(b, c)).toBe(-1);
  });

  it("ticks after any time it received", () => {
    const clock = new HybridLogicalClock("slow", () => 1000);
    clock.receive(encodeHlc({ wall: 50_000, counter: 3, node: "fast" }));
    const t = decodeHlc(clock.tick());
    expect(t).toEqual({ wall: 50_000, counter: 4, node: "slow" });
  });

  it("keeps itself within the allowed drift of a faulty remote clock", () => {
    const clock = new HybridLogicalClock("dev", () => 1000, HLC_ZERO, 60_000);
    clock.receive(encodeHlc({ wall: 10 * 3_600_000, counter: 0, node: "broken" }));
    expect(decodeHlc(clock.tick()).wall).toBe(61_000);
  });

  it("comes back from a future it stamped once its wall clock is corrected", () => {
    let wall = 10 * 3_600_000;
    const clock = new HybridLogicalClock("dev", () => wall);
    clock.tick();
    wall = 1000;
    clock.rebase();
    expect(decodeHlc(clock.tick()).wall).toBe(1000);
  });

  it("resumes from a persisted time", () => {
    const first = new HybridLogicalClock("dev", () => 100);
    const t = first.tick();
    const again = new HybridLogicalClock("dev", () => 100, first.current);
    expect(compareHlc(t, again.tick())).toBe(-1);
  });
});
