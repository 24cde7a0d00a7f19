import fc from "fast-check";
import { describe, it } from "vitest";
import { runSchedule, scheduleArb } from "./schedule.js";

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
