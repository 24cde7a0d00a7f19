import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, it } from "vitest";
import { runSchedule, type Schedule, scheduleArb } from "./schedule.js";

/** Schedules that once failed (each says where it was found), replayed on every run. */
const FOUND = JSON.parse(readFileSync(new URL("./fixtures/schedules.json", import.meta.url), "utf8")) as {
  found: string;
  schedule: Schedule;
}[];

const RUNS = Number(process.env.HOKAN_PROPERTY_RUNS ?? 1000);

describe("random schedules on 2–4 devices", () => {
  it(`converge, lose no acknowledged write, acknowledge no write before the server commits it, let no default replace a backed-up value, bring back no deleted data, and keep accounts apart (${RUNS} schedules)`, async () => {
    await fc.assert(
      fc.asyncProperty(scheduleArb(), (s) => runSchedule(s).then(() => true)),
      {
        numRuns: RUNS,
        seed: Number(process.env.HOKAN_PROPERTY_SEED ?? 20261125),
      },
    );
  }, 600_000);
});

describe("schedules that once failed", () => {
  for (const { found, schedule } of FOUND) {
    it(found, async () => {
      await runSchedule(schedule);
    });
  }
});
