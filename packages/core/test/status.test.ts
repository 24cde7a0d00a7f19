import { describe, expect, it } from "vitest";
import { deriveStatus, type ReplicationStatus } from "../src/replication/status.js";

const ALLOWED = { kind: "allowed", warnings: [] } as const;
const BASE: ReplicationStatus = {
  state: "idle",
  pending: 0,
  rejected: 0,
  backup: ALLOWED,
  restore: ALLOWED,
  inFlight: false,
  epoch: 1,
};
const facts = { state: "idle" as const, schemaVersion: 1 };

describe("deriveStatus", () => {
  it("merges a patch, removes what it sets to undefined, and takes the machine's state", () => {
    const s = deriveStatus(
      { ...BASE, lastPullAt: 5 },
      { pending: 3, lastPullAt: undefined },
      { ...facts, state: "pushing" },
    );
    expect(s).toEqual({ ...BASE, state: "pushing", pending: 3 });
    expect("lastPullAt" in s).toBe(false);
  });

  it("shows no request in flight outside pulling and pushing", () => {
    expect(deriveStatus(BASE, { inFlight: true }, { ...facts, state: "pulling" }).inFlight).toBe(true);
    expect(deriveStatus(BASE, { inFlight: true }, { ...facts, state: "backoff" }).inFlight).toBe(false);
  });

  it("derives the reason: a failed start, backup's policy, restore's, a fatal error, then data too new", () => {
    const denied = { kind: "held", reason: "roaming" } as const;
    const held = { kind: "held", reason: "offline" } as const;
    const newer = { ...facts, awaitingSchema: 3 };
    expect(
      deriveStatus(BASE, { backup: denied, restore: held }, { ...newer, startFailure: "storage" }).reason,
    ).toBe("storage");
    expect(deriveStatus(BASE, { backup: denied, restore: held }, newer).reason).toBe("roaming");
    expect(deriveStatus(BASE, { restore: held }, newer).reason).toBe("offline");
    expect(deriveStatus(BASE, {}, { ...newer, state: "fatal", fatalCode: "unauthorized" }).reason).toBe(
      "unauthorized",
    );
    expect(deriveStatus(BASE, {}, newer).reason).toBe("upgrade-required");
    // A fatal code outside the fatal state, or a backup of the app's own schema, says nothing.
    expect(
      deriveStatus(
        { ...BASE, reason: "offline" },
        {},
        { ...facts, fatalCode: "unauthorized", awaitingSchema: 1 },
      ).reason,
    ).toBeUndefined();
  });
});
