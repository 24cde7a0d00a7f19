import { combineLatest, distinctUntilChanged, map, Observable, switchMap } from "rxjs";
import type {
  AccountState,
  DeviceSettings,
  NetworkState,
  PolicyDecision,
  RegistryKnowledge,
} from "./policy.js";
import { decidePolicy, sameDecision } from "./policy.js";
import type { AppScope } from "./protocol.js";
import type { Runtime } from "./runtime.js";

/** The changing inputs of policy, each as a stream. */
export interface PolicySources {
  readonly settings$: Observable<DeviceSettings>;
  readonly network$: Observable<NetworkState>;
  readonly account$: Observable<AccountState | null>;
  readonly registry$: Observable<RegistryKnowledge>;
  readonly app$: Observable<AppScope>;
  readonly quotaExceeded$: Observable<boolean>;
}

/** A decision together with the inputs it was made from. */
export interface PolicySnapshot extends PolicyDecision {
  /** Increases whenever any input changes, even when the decision does not (fatal errors wait for this). */
  readonly inputsVersion: number;
}

/**
 * Re-decides whenever an input changes, and again when a registry date (retirement, enforcement) passes.
 *
 * @remarks
 * Emits on every input change, with {@link PolicySnapshot.inputsVersion} raised, so a consumer can tell "the decision
 * is the same but an input (say the app version) changed", which is what clears a fatal `upgrade-required`.
 */
export function policy$(sources: PolicySources, runtime: Runtime): Observable<PolicySnapshot> {
  let version = 0;
  return combineLatest([
    sources.settings$,
    sources.network$,
    sources.account$,
    sources.registry$,
    sources.app$,
    sources.quotaExceeded$,
  ]).pipe(
    map((inputs) => ({ inputs, version: ++version })),
    switchMap(({ inputs: [settings, network, account, registry, app, quotaExceeded], version: v }) => {
      const at = (now: number): PolicySnapshot => ({
        ...decidePolicy({ settings, network, account, registry, app, quotaExceeded, now }),
        inputsVersion: v,
      });
      return decisionsOverTime(at, runtime);
    }),
    distinctUntilChanged(
      (a, b) =>
        a.inputsVersion === b.inputsVersion &&
        sameDecision(a.backup, b.backup) &&
        sameDecision(a.restore, b.restore),
    ),
  );
}

/**
 * The longest timer JavaScript keeps (2³¹ − 1 ms, about 24.8 days): a longer delay fires after 1 ms instead, which
 * turned a registry date months away into a timer firing every millisecond. A far date is re-checked at this interval.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/** Emits a decision now, and again each time a `recheckAt` boundary passes on the runtime's clock. */
function decisionsOverTime(
  decideAt: (now: number) => PolicySnapshot,
  runtime: Runtime,
): Observable<PolicySnapshot> {
  return new Observable<PolicySnapshot>((subscriber) => {
    let handle: unknown;
    const emit = (): void => {
      const now = runtime.now();
      const snapshot = decideAt(now);
      subscriber.next(snapshot);
      if (snapshot.recheckAt !== undefined)
        handle = runtime.setTimeout(emit, Math.min(MAX_TIMER_MS, Math.max(1, snapshot.recheckAt - now)));
    };
    emit();
    return () => {
      if (handle !== undefined) runtime.clearTimeout(handle);
    };
  });
}
