import { createReplication, type DocumentChange } from "@hokan/core";
import { MemoryServer, openRegistry } from "@hokan/core/testing";
import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import { BehaviorSubject } from "rxjs";
import { describe, expect, it } from "vitest";
import { DexieStore, electLeader, shareAcrossTabs } from "../src/index.js";
import { until } from "./leader-cases.js";

const APP = { appId: "jp.example.mail", appVersion: "3.0.0", platform: "web" as const };

describe("tabs sharing one replication", () => {
  it("replicates from one tab, takes writes from every tab, and hands over when the leader closes", async () => {
    const server = new MemoryServer({ registry: openRegistry([APP.appId]), now: () => Date.now() });
    const indexedDB = new IDBFactory();
    const name = `tabs-${Date.now()}`;
    const settings$ = new BehaviorSubject({ backupEnabled: true, overseasEnabled: false });
    const network$ = new BehaviorSubject({ online: true, roaming: false });
    const tab = (id: string) => {
      const store = new DexieStore({ indexedDB, IDBKeyRange, name });
      const replication = createReplication({
        store,
        transport: server.connect({ accountId: "alice" }),
        accountId: "alice",
        app: APP,
        deviceId: "browser-1",
        collections: { settings: "merge" },
        settings$,
        network$,
      });
      const election = electLeader({ name: `${name}:leader`, locks: null, heartbeatMs: 30, staleMs: 400 });
      const shared = shareAcrossTabs({ replication, election, channel: `${name}:tabs` });
      return { id, store, replication, election, shared };
    };
    const tabs = [tab("one"), tab("two")];
    await until(() => tabs.filter((t) => t.election.isLeader).length === 1);
    const leader = tabs.find((t) => t.election.isLeader) as (typeof tabs)[number];
    const follower = tabs.find((t) => t !== leader) as (typeof tabs)[number];
    const seenByLeader: DocumentChange[] = [];
    leader.shared.changes$.subscribe((c) => seenByLeader.push(c));

    await follower.replication.put("settings", "from-follower", { v: 1 });
    await leader.replication.put("settings", "from-leader", { v: 2 });
    await until(() => server.documents("alice", APP.appId).length === 2);
    expect(
      server
        .documents("alice", APP.appId)
        .map((d) => d.id)
        .sort(),
    ).toEqual(["from-follower", "from-leader"]);
    await until(() => leader.replication.status.pending === 0);
    let followerView = follower.replication.status;
    follower.shared.status$.subscribe((s) => {
      followerView = s;
    });
    await until(
      () =>
        followerView.state === "idle" && followerView.pending === 0 && followerView.lastPushAt !== undefined,
    );
    expect(seenByLeader.some((c) => c.id === "from-follower")).toBe(true);
    expect(follower.replication.status.state).toBe("stopped");

    leader.shared.close();
    leader.election.close();
    await leader.replication.stop();
    await leader.store.close();
    await until(() => follower.election.isLeader);
    await follower.replication.put("settings", "after-handover", { v: 3 });
    await until(() => server.documents("alice", APP.appId).length === 3);
    follower.shared.close();
    follower.election.close();
    await follower.replication.stop();
    await follower.store.close();
  }, 15_000);
});
