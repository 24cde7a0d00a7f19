import { describe, expect, it } from "vitest";
import {
  backoffDelay,
  INITIAL_CONTEXT,
  type MachineContext,
  type MachineEvent,
  type ReplicationState,
  TRANSITIONS,
  transition,
} from "../src/index.js";

const allowed = (inputsVersion = 1): MachineEvent => ({
  type: "policy",
  backupAllowed: true,
  restoreAllowed: true,
  inputsVersion,
});

function run(
  events: MachineEvent[],
  state: ReplicationState = "stopped",
  context: MachineContext = INITIAL_CONTEXT,
) {
  let s = state;
  let c = context;
  const effects: string[] = [];
  for (const e of events) {
    const step = transition(s, c, e);
    s = step.state;
    c = step.context;
    effects.push(...step.effects.map((x) => x.type));
  }
  return { state: s, context: c, effects };
}

describe("replication state machine", () => {
  it("decides every state × event", () => {
    const events: MachineEvent["type"][] = [
      "start",
      "stop",
      "policy",
      "local-change",
      "remote-change",
      "pull-done",
      "push-done",
      "failed",
      "retry-due",
    ];
    for (const row of Object.values(TRANSITIONS)) {
      expect(Object.keys(row).sort()).toEqual([...events].sort());
    }
    expect(Object.keys(TRANSITIONS).sort()).toEqual([
      "backoff",
      "fatal",
      "idle",
      "pulling",
      "pushing",
      "stopped",
    ]);
  });

  it("pulls first, then pushes, then rests", () => {
    const r = run([
      allowed(),
      { type: "start" },
      { type: "pull-done", more: false },
      { type: "push-done", more: false, pullNeeded: false },
    ]);
    expect(r.effects).toEqual(["pull", "push"]);
    expect(r.state).toBe("idle");
  });

  it("keeps pulling while the server says there is more, and pushes while the outbox has more", () => {
    const r = run([
      allowed(),
      { type: "start" },
      { type: "pull-done", more: true },
      { type: "pull-done", more: false },
      { type: "push-done", more: true, pullNeeded: false },
      { type: "push-done", more: false, pullNeeded: false },
    ]);
    expect(r.effects).toEqual(["pull", "pull", "push", "push"]);
  });

  it("remembers a change announced during a request and acts on it afterwards", () => {
    const r = run([
      allowed(),
      { type: "start" },
      { type: "remote-change" },
      { type: "pull-done", more: false },
    ]);
    expect(r.effects).toEqual(["pull", "pull"]);
  });

  it("waits while held and starts as soon as policy allows", () => {
    const held: MachineEvent = {
      type: "policy",
      backupAllowed: false,
      restoreAllowed: false,
      inputsVersion: 1,
    };
    const r = run([held, { type: "start" }, { type: "local-change" }]);
    expect(r.state).toBe("idle");
    expect(r.effects).toEqual([]);
    expect(run([allowed(2)], r.state, r.context).effects).toEqual(["pull"]);
  });

  it("backs off after a retryable failure, and retries when due or when policy opens up", () => {
    const failed = run([allowed(), { type: "start" }, { type: "failed", code: "network", retryable: true }]);
    expect(failed.state).toBe("backoff");
    expect(failed.effects).toEqual(["pull", "schedule-retry"]);
    expect(failed.context.attempt).toBe(1);
    expect(run([{ type: "retry-due" }], failed.state, failed.context).effects).toEqual(["pull"]);
    const offline = run(
      [{ type: "policy", backupAllowed: false, restoreAllowed: false, inputsVersion: 2 }],
      failed.state,
      failed.context,
    );
    expect(offline.state).toBe("backoff");
    expect(run([allowed(3)], offline.state, offline.context).effects).toEqual(["cancel-retry", "pull"]);
  });

  it("stops on a fatal failure until an input changes", () => {
    const fatal = run([
      allowed(5),
      { type: "start" },
      { type: "failed", code: "upgrade-required", retryable: false },
    ]);
    expect(fatal.state).toBe("fatal");
    expect(fatal.context.fatalCode).toBe("upgrade-required");
    expect(
      run([{ type: "retry-due" }, { type: "local-change" }, allowed(5)], fatal.state, fatal.context).effects,
    ).toEqual([]);
    const lifted = run([allowed(6)], fatal.state, fatal.context);
    expect(lifted.effects).toEqual(["pull"]);
    expect(lifted.context.fatalCode).toBeUndefined();
  });

  it("decides again at once, never backing off, when the refused request was made under older inputs", () => {
    const pushing = run([allowed(5), { type: "start" }, { type: "pull-done", more: false }]);
    expect(pushing.state).toBe("pushing");
    const upgraded = run([allowed(6)], pushing.state, pushing.context);
    const refused = run(
      [{ type: "failed", code: "upgrade-required", retryable: false, inputsVersion: 5 }],
      upgraded.state,
      upgraded.context,
    );
    expect(refused.state).toBe("pushing");
    expect(refused.effects).toEqual(["push"]);
    // Inputs that now deny the operation (the registry learned the app is unknown): rest, and say why in status.
    const denied = run(
      [
        { type: "policy", backupAllowed: false, restoreAllowed: false, inputsVersion: 7 },
        { type: "failed", code: "unsupported", retryable: false, inputsVersion: 6 },
      ],
      refused.state,
      refused.context,
    );
    expect(denied.state).toBe("idle");
    expect(denied.effects).toEqual([]);
  });

  it("ignores late answers once stopped", () => {
    const r = run([allowed(), { type: "start" }, { type: "stop" }, { type: "pull-done", more: true }]);
    expect(r.state).toBe("stopped");
    expect(r.effects).toEqual(["pull"]);
  });
});

describe("backoffDelay", () => {
  it("grows exponentially to the cap, with jitter in the upper half", () => {
    const opts = { baseMs: 100, maxMs: 1000 };
    expect(backoffDelay(1, () => 0, opts)).toBe(50);
    expect(backoffDelay(1, () => 0.999999, opts)).toBe(100);
    expect(backoffDelay(3, () => 0, opts)).toBe(200);
    expect(backoffDelay(30, () => 0.5, opts)).toBe(750);
  });
});
