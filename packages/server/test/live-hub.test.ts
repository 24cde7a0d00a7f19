import type { LiveHint } from "@hokan/core";
import { describe, expect, it } from "vitest";
import { postgresBus } from "../src/bus.js";
import type { Database } from "../src/database.js";
import { LiveHub } from "../src/live-hub.js";

/** A hub listening on a database that is only a NOTIFY channel the test writes to. */
async function hubWithChannel() {
  let notify: (payload: string) => void = () => {};
  let gap: () => void = () => {};
  const db = {
    listen: async (_channel: string, onPayload: (p: string) => void, onGap: () => void) => {
      notify = onPayload;
      gap = onGap;
      return async () => {};
    },
  } as unknown as Database;
  const hub = new LiveHub((event) => event);
  await hub.start(postgresBus(db));
  return {
    hub,
    notify: (account: string, appId: string, seq: number) =>
      notify(JSON.stringify({ account, appId, type: "changed", epoch: 1, seq })),
    gap: () => gap(),
  };
}

const MAIL = new Map([["jp.example.mail", undefined]]);

describe("LiveHub", () => {
  it("keeps connections by account: counts, limits and notices see one account's alone", async () => {
    const { hub, notify } = await hubWithChannel();
    const got: Record<string, LiveHint[]> = { a1: [], a2: [], b1: [] };
    const removeA1 = hub.add(
      "alice",
      MAIL,
      (e) => got.a1?.push(e),
      () => {},
    );
    hub.add(
      "alice",
      MAIL,
      (e) => got.a2?.push(e),
      () => {},
    );
    const removeB1 = hub.add(
      "bob",
      MAIL,
      (e) => got.b1?.push(e),
      () => {},
    );
    expect([
      hub.connections,
      hub.connectionsOf("alice"),
      hub.connectionsOf("bob"),
      hub.connectionsOf("carol"),
    ]).toEqual([3, 2, 1, 0]);

    notify("alice", "jp.example.mail", 7);
    notify("alice", "jp.example.notes", 8);
    expect(got.a1).toEqual([{ type: "changed", appId: "jp.example.mail", epoch: 1, seq: 7 }]);
    expect(got.a2).toHaveLength(1);
    expect(got.b1).toEqual([]);

    // Removing twice counts once; an account with none left is forgotten.
    removeA1();
    removeA1();
    removeB1();
    expect([hub.connections, hub.connectionsOf("alice"), hub.connectionsOf("bob")]).toEqual([1, 1, 0]);
    notify("alice", "jp.example.mail", 9);
    expect(got.a1).toHaveLength(1);
    expect(got.a2).toHaveLength(2);
  });

  it("ends every connection after a gap in the notices, and counts none after", async () => {
    const { hub, gap } = await hubWithChannel();
    const ended: string[] = [];
    const remove = hub.add(
      "alice",
      MAIL,
      () => {},
      () => ended.push("a"),
    );
    hub.add(
      "bob",
      MAIL,
      () => {},
      () => ended.push("b"),
      true,
    );
    gap();
    expect(ended.sort()).toEqual(["a", "b"]);
    expect(hub.connections).toBe(0);
    // A connection's own cleanup after the end changes nothing.
    remove();
    expect(hub.connections).toBe(0);
  });
});
