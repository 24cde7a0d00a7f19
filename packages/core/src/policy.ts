import type { AppScope, Capability, RegistryEntry } from "./protocol.js";
import { compareVersions } from "./version.js";

/** Device settings, per device, shared by every app on it. */
export interface DeviceSettings {
  /** 利用設定: backup on for this device. */
  readonly backupEnabled: boolean;
  /** 海外利用設定: back up and restore while roaming abroad. */
  readonly overseasEnabled: boolean;
}

/** The network as the host platform reports it. */
export interface NetworkState {
  readonly online: boolean;
  /** Abroad on a foreign network. */
  readonly roaming: boolean;
  readonly metered?: boolean;
}

/** The account set on the device, as far as the device knows. */
export interface AccountState {
  readonly accountId: string;
  /** The account's contract includes backup. */
  readonly entitled: boolean;
}

/**
 * What the device knows of the registry for this app and platform: `undefined` while it was never fetched (the
 * server decides then), `null` when the registry was fetched and does not list the app.
 */
export type RegistryKnowledge = RegistryEntry | null | undefined;

/** Everything a policy decision depends on. */
export interface PolicyInput {
  readonly settings: DeviceSettings;
  readonly network: NetworkState;
  readonly account: AccountState | null;
  readonly registry: RegistryKnowledge;
  readonly app: AppScope;
  /** The account's quota for this app is used up (as the server last said). */
  readonly quotaExceeded: boolean;
  /** Current time (ms), for retirement and enforcement dates. */
  readonly now: number;
}

/** Why an operation waits for the device's own state to change. */
export type HeldReason = "offline" | "roaming" | "disabled" | "no-account";

/** Why an operation is refused until something outside the device changes. */
export type DeniedReason =
  | "not-entitled"
  | "unsupported"
  | "capability"
  | "retired"
  | "upgrade-required"
  | "quota";

/** Every reason of a decision. */
export type PolicyReason = HeldReason | DeniedReason;

/** A warning that does not stop anything yet. */
export type PolicyWarning = "upgrade-soon" | "retiring-soon";

/** A policy decision for one operation. */
export type Decision =
  | { readonly kind: "allowed"; readonly warnings: readonly PolicyWarning[] }
  | { readonly kind: "held"; readonly reason: HeldReason }
  | { readonly kind: "denied"; readonly reason: DeniedReason };

/** The decisions for both operations, and when the same inputs would decide differently (a date passing). */
export interface PolicyDecision {
  readonly backup: Decision;
  readonly restore: Decision;
  /** Time (ms) at which a date in the registry flips a decision; re-decide then. */
  readonly recheckAt?: number;
}

const DAY = 86_400_000;

/** The operations policy decides. */
export type Operation = "backup" | "restore";

/**
 * Decides one operation.
 *
 * @remarks
 * The order of checks is the order a user should fix things in: their own switch first, then account and contract,
 * then the operator's registry, then the network. Offline beats roaming: abroad without a connection is offline.
 */
export function decide(input: PolicyInput, op: Operation): Decision {
  const { settings, network, account, registry, app, now } = input;
  if (!settings.backupEnabled) return held("disabled");
  if (account === null) return held("no-account");
  if (!account.entitled) return denied("not-entitled");
  const warnings: PolicyWarning[] = [];
  if (registry === null) return denied("unsupported");
  if (registry !== undefined) {
    const reason = registryRefusal(registry, app, op, now, warnings);
    if (reason !== undefined) return denied(reason);
  }
  if (op === "backup" && input.quotaExceeded) return denied("quota");
  if (!network.online) return held("offline");
  if (network.roaming && !settings.overseasEnabled) return held("roaming");
  return { kind: "allowed", warnings };
}

/** Decides both operations and the next time a date in the registry may change them. */
export function decidePolicy(input: PolicyInput): PolicyDecision {
  const recheckAt = nextBoundary(input.registry, input.now);
  const decision = { backup: decide(input, "backup"), restore: decide(input, "restore") };
  return recheckAt === undefined ? decision : { ...decision, recheckAt };
}

/**
 * What the registry entry says of an operation for this app version at this time: a refusal, or nothing (and any
 * warnings pushed onto `warnings`). The server applies the same function to every request.
 */
export function registryRefusal(
  entry: RegistryEntry,
  app: AppScope,
  op: Operation,
  now: number,
  warnings: PolicyWarning[] = [],
): DeniedReason | undefined {
  if (entry.appId !== app.appId || entry.platform !== app.platform) return "unsupported";
  if (entry.retiredAt !== undefined) {
    const retiredAt = Date.parse(entry.retiredAt);
    const restoreUntil = retiredAt + (entry.restoreGraceDays ?? 0) * DAY;
    if (now >= (op === "backup" ? retiredAt : restoreUntil)) return "retired";
    if (op === "backup") warnings.push("retiring-soon");
  }
  if (entry.minVersion !== undefined && compareVersions(app.appVersion, entry.minVersion) < 0) {
    const from =
      entry.minVersionEnforcedFrom === undefined ? -Infinity : Date.parse(entry.minVersionEnforcedFrom);
    if (now >= from) return "upgrade-required";
    warnings.push("upgrade-soon");
  }
  const capability: Capability = op;
  if (!entry.capabilities.includes(capability)) return "capability";
  return undefined;
}

function nextBoundary(entry: RegistryKnowledge, now: number): number | undefined {
  if (entry == null) return undefined;
  const dates: number[] = [];
  if (entry.retiredAt !== undefined) {
    const r = Date.parse(entry.retiredAt);
    dates.push(r, r + (entry.restoreGraceDays ?? 0) * DAY);
  }
  if (entry.minVersionEnforcedFrom !== undefined) dates.push(Date.parse(entry.minVersionEnforcedFrom));
  const future = dates.filter((d) => d > now);
  return future.length === 0 ? undefined : Math.min(...future);
}

function held(reason: HeldReason): Decision {
  return { kind: "held", reason };
}

function denied(reason: DeniedReason): Decision {
  return { kind: "denied", reason };
}

/** True when two decisions say the same. */
export function sameDecision(a: Decision, b: Decision): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === "allowed" && b.kind === "allowed") return a.warnings.join() === b.warnings.join();
  return (a as { reason: string }).reason === (b as { reason: string }).reason;
}
