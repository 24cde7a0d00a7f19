import type { DocumentChange, Replication, ReplicationStatus } from "@hokan/core";
import { BehaviorSubject, merge, type Observable, Subject, type Subscription } from "rxjs";
import type { LeaderElection } from "./leader.js";

/** Options of {@link shareAcrossTabs}. */
export interface TabSharingOptions {
  /** This tab's replication of the app (on the store every tab shares). */
  readonly replication: Replication;
  readonly election: LeaderElection;
  /** Channel name, the same in every tab of the app (e.g. `hokan:<account>:<app>`). */
  readonly channel: string;
  readonly BroadcastChannel?: typeof BroadcastChannel;
}

/** What every tab sees, whichever tab replicates. */
export interface SharedTab {
  /** The replicating tab's status (this tab's own when it leads). */
  readonly status$: Observable<ReplicationStatus>;
  /** Changes made in any tab, and restored by the leader. */
  readonly changes$: Observable<DocumentChange>;
  close(): void;
}

type TabMessage =
  | { readonly type: "written" }
  | { readonly type: "status"; readonly status: ReplicationStatus }
  | { readonly type: "change"; readonly change: DocumentChange };

/**
 * Lets the tabs of one app share one replication: the elected tab replicates; every tab writes to the shared store
 * through its own (stopped) replication, and the leader is told to push; status and restored changes are passed
 * to the other tabs.
 *
 * @example
 * ```ts
 * const shared = shareAcrossTabs({ replication, election: electLeader({ name: "hokan:mail" }), channel: "hokan:mail" });
 * shared.status$.subscribe(render);
 * ```
 */
export function shareAcrossTabs(options: TabSharingOptions): SharedTab {
  const { replication, election } = options;
  const Channel = options.BroadcastChannel ?? globalThis.BroadcastChannel;
  const channel = new Channel(options.channel);
  const status = new BehaviorSubject<ReplicationStatus>(replication.status);
  const remote = new Subject<DocumentChange>();
  const subs: Subscription[] = [];
  const post = (m: TabMessage): void => channel.postMessage(m);

  channel.onmessage = (event: MessageEvent<TabMessage>) => {
    const m = event.data;
    if (m.type === "written") {
      // Another tab wrote to the shared store: the leader pushes it, any tab recounts.
      void replication.refresh().catch(() => undefined);
    } else if (m.type === "status" && !election.isLeader) {
      status.next(m.status);
    } else if (m.type === "change") {
      remote.next(m.change);
    }
  };
  subs.push(
    election.isLeader$.subscribe((leader) => {
      if (leader) void replication.start().catch(() => undefined);
      else void replication.stop();
    }),
    replication.status$.subscribe((s) => {
      if (!election.isLeader) return;
      status.next(s);
      post({ type: "status", status: s });
    }),
    replication.changes$.subscribe((change) => {
      if (change.origin === "local") post({ type: "written" });
      if (change.origin === "local" || election.isLeader) post({ type: "change", change });
    }),
  );
  return {
    status$: status.asObservable(),
    changes$: merge(replication.changes$, remote),
    close() {
      for (const s of subs) s.unsubscribe();
      channel.close();
      status.complete();
      remote.complete();
    },
  };
}
