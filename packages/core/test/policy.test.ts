import { BehaviorSubject } from "rxjs";
import { describe, expect, it } from "vitest";
import {
  type AccountState,
  type AppScope,
  type DeviceSettings,
  decide,
  decidePolicy,
  type NetworkState,
  type PolicyInput,
  type PolicySnapshot,
  policy$,
  type RegistryEntry,
  type RegistryKnowledge,
} from "../src/index.js";
import { ManualRuntime } from "../src/testing/index.js";

const NOW = Date.UTC(2026, 10, 25);
const DAY = 86_400_000;
const APP: AppScope = { appId: "jp.example.mail", appVersion: "3.0.0", platform: "android" };
const ENTRY: RegistryEntry = {
  appId: APP.appId,
  platform: "android",
  capabilities: ["backup", "restore", "bulkBackup", "bulkDelete"],
};

const input = (patch: Partial<PolicyInput> = {}): PolicyInput => ({
  settings: { backupEnabled: true, overseasEnabled: false },
  network: { online: true, roaming: false },
  account: { accountId: "alice", entitled: true },
  registry: ENTRY,
  app: APP,
  quotaExceeded: false,
  now: NOW,
  ...patch,
});

describe("policy", () => {
  it("allows both operations when everything is in order", () => {
    expect(decide(input(), "backup")).toEqual({ kind: "allowed", warnings: [] });
    expect(decide(input(), "restore")).toEqual({ kind: "allowed", warnings: [] });
  });

  it.each([
    ["disabled", { settings: { backupEnabled: false, overseasEnabled: true } }, "held"],
    ["no-account", { account: null }, "held"],
    ["not-entitled", { account: { accountId: "alice", entitled: false } }, "denied"],
    ["unsupported", { registry: null }, "denied"],
    ["unsupported", { registry: { ...ENTRY, platform: "ios" as const } }, "denied"],
    ["offline", { network: { online: false, roaming: false } }, "held"],
    ["roaming", { network: { online: true, roaming: true } }, "held"],
  ] as const)("holds or denies both operations: %s", (reason, patch, kind) => {
    for (const op of ["backup", "restore"] as const) {
      expect(decide(input(patch as Partial<PolicyInput>), op)).toEqual({ kind, reason });
    }
  });

  it("lets roaming through when overseas use is on", () => {
    const abroad = input({
      network: { online: true, roaming: true },
      settings: { backupEnabled: true, overseasEnabled: true },
    });
    expect(decide(abroad, "backup").kind).toBe("allowed");
  });

  it("says offline rather than roaming when abroad without a connection", () => {
    expect(decide(input({ network: { online: false, roaming: true } }), "backup")).toEqual({
      kind: "held",
      reason: "offline",
    });
  });

  it("puts the user's own switch first: backup off wins over every other reason", () => {
    const everythingWrong = input({
      settings: { backupEnabled: false, overseasEnabled: false },
      account: null,
      network: { online: false, roaming: true },
      registry: null,
    });
    expect(decide(everythingWrong, "backup")).toEqual({ kind: "held", reason: "disabled" });
  });

  it("decides capabilities per operation (an iOS app that can only restore)", () => {
    const restoreOnly = input({ registry: { ...ENTRY, capabilities: ["restore"] } });
    expect(decide(restoreOnly, "backup")).toEqual({ kind: "denied", reason: "capability" });
    expect(decide(restoreOnly, "restore").kind).toBe("allowed");
  });

  it("refuses backup from the retirement date and restore after the grace period", () => {
    const entry = { ...ENTRY, retiredAt: new Date(NOW).toISOString(), restoreGraceDays: 30 };
    expect(decide(input({ registry: entry, now: NOW - 1 }), "backup")).toEqual({
      kind: "allowed",
      warnings: ["retiring-soon"],
    });
    expect(decide(input({ registry: entry }), "backup")).toEqual({ kind: "denied", reason: "retired" });
    expect(decide(input({ registry: entry, now: NOW + 29 * DAY }), "restore").kind).toBe("allowed");
    expect(decide(input({ registry: entry, now: NOW + 30 * DAY }), "restore")).toEqual({
      kind: "denied",
      reason: "retired",
    });
  });

  it("warns an old client before the enforcement date and refuses it from then on", () => {
    const entry = {
      ...ENTRY,
      minVersion: "3.1.0",
      minVersionEnforcedFrom: new Date(NOW + DAY).toISOString(),
    };
    expect(decide(input({ registry: entry }), "backup")).toEqual({
      kind: "allowed",
      warnings: ["upgrade-soon"],
    });
    expect(decide(input({ registry: entry, now: NOW + DAY }), "restore")).toEqual({
      kind: "denied",
      reason: "upgrade-required",
    });
    const upgraded = input({ registry: entry, now: NOW + DAY, app: { ...APP, appVersion: "3.10.0" } });
    expect(decide(upgraded, "backup")).toEqual({ kind: "allowed", warnings: [] });
  });

  it("denies backup, not restore, when the quota is used up", () => {
    expect(decide(input({ quotaExceeded: true }), "backup")).toEqual({ kind: "denied", reason: "quota" });
    expect(decide(input({ quotaExceeded: true }), "restore").kind).toBe("allowed");
  });

  it("leaves the decision to the server while the registry was never fetched", () => {
    expect(decide(input({ registry: undefined }), "backup").kind).toBe("allowed");
  });

  it("says when a registry date will change the decision", () => {
    const entry = { ...ENTRY, retiredAt: new Date(NOW + DAY).toISOString(), restoreGraceDays: 2 };
    expect(decidePolicy(input({ registry: entry })).recheckAt).toBe(NOW + DAY);
    expect(decidePolicy(input({ registry: entry, now: NOW + DAY })).recheckAt).toBe(NOW + 3 * DAY);
    expect(decidePolicy(input()).recheckAt).toBeUndefined();
  });
});

describe("policy$", () => {
  function sources(runtime: ManualRuntime, registry: RegistryKnowledge = ENTRY) {
    const s = {
      settings: new BehaviorSubject<DeviceSettings>({ backupEnabled: true, overseasEnabled: false }),
      network: new BehaviorSubject<NetworkState>({ online: true, roaming: false }),
      account: new BehaviorSubject<AccountState | null>({ accountId: "alice", entitled: true }),
      registry: new BehaviorSubject<RegistryKnowledge>(registry),
      app: new BehaviorSubject<AppScope>(APP),
      quota: new BehaviorSubject(false),
    };
    const seen: PolicySnapshot[] = [];
    const sub = policy$(
      {
        settings$: s.settings,
        network$: s.network,
        account$: s.account,
        registry$: s.registry,
        app$: s.app,
        quotaExceeded$: s.quota,
      },
      runtime,
    ).subscribe((x) => seen.push(x));
    return { ...s, seen, sub };
  }

  it("re-decides whenever an input changes, and says the inputs changed even when the decision did not", () => {
    const runtime = new ManualRuntime({ start: NOW });
    const s = sources(runtime);
    s.network.next({ online: true, roaming: true });
    s.settings.next({ backupEnabled: true, overseasEnabled: true });
    s.app.next({ ...APP, appVersion: "3.0.1" });
    expect(s.seen.map((x) => [x.backup.kind, x.inputsVersion])).toEqual([
      ["allowed", 1],
      ["held", 2],
      ["allowed", 3],
      ["allowed", 4],
    ]);
    s.sub.unsubscribe();
    expect(runtime.pendingTimers).toBe(0);
  });

  it("never asks for a timer longer than JavaScript keeps, however far the next date is", () => {
    const delays: number[] = [];
    const runtime = new ManualRuntime({ start: NOW });
    const setTimeout = runtime.setTimeout.bind(runtime);
    runtime.setTimeout = (fn, ms) => {
      delays.push(ms);
      return setTimeout(fn, ms);
    };
    const years = 9 * 365 * 24 * 3_600_000;
    const s = sources(runtime, { ...ENTRY, retiredAt: new Date(NOW + years).toISOString() });
    expect(delays).toEqual([2_147_483_647]);
    s.sub.unsubscribe();
  });

  it("re-decides by itself when the retirement date passes", async () => {
    const runtime = new ManualRuntime({ start: NOW });
    const s = sources(runtime, { ...ENTRY, retiredAt: new Date(NOW + 1000).toISOString() });
    expect(s.seen.at(-1)?.backup.kind).toBe("allowed");
    await runtime.advance(1000);
    expect(s.seen.at(-1)?.backup).toEqual({ kind: "denied", reason: "retired" });
    s.sub.unsubscribe();
    expect(runtime.pendingTimers).toBe(0);
  });
});
