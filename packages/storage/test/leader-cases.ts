import { expect } from "vitest";
import { electLeader, type LeaderElection } from "../src/index.js";

/** Shared by the Node suite (BroadcastChannel fallback) and the Chromium suite (Web Locks). */

export async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!(await condition())) {
    if (Date.now() - start > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A BroadcastChannel whose sending can be switched off: a frozen tab says nothing. */
export function mutableChannel() {
  const state = { muted: false };
  class Muteable extends BroadcastChannel {
    override postMessage(message: unknown): void {
      if (!state.muted) super.postMessage(message);
    }
  }
  return { Channel: Muteable, state };
}

const leaders = (all: LeaderElection[]) => all.filter((e) => e.isLeader).length;
const timing = { heartbeatMs: 20, staleMs: 120 };

export function electionCases(locks: () => LockManager | null) {
  let n = 0;
  const name = () => `hokan-test-${Date.now()}-${n++}`;
  return {
    async oneLeaderAndHandover() {
      const key = name();
      const all = [0, 1, 2].map(() => electLeader({ name: key, locks: locks(), ...timing }));
      await until(() => leaders(all) === 1);
      await new Promise((r) => setTimeout(r, 300));
      expect(leaders(all)).toBe(1);
      const first = all.find((e) => e.isLeader) as LeaderElection;
      first.close();
      const rest = all.filter((e) => e !== first);
      await until(() => leaders(rest) === 1);
      await new Promise((r) => setTimeout(r, 300));
      expect(leaders(rest)).toBe(1);
      for (const e of rest) e.close();
    },
    async frozenLeaderReplaced() {
      const key = name();
      const frozen = mutableChannel();
      const a = electLeader({ name: key, locks: locks(), BroadcastChannel: frozen.Channel, ...timing });
      await until(() => a.isLeader);
      const b = electLeader({ name: key, locks: locks(), ...timing });
      await new Promise((r) => setTimeout(r, 300));
      expect(b.isLeader).toBe(false);
      frozen.state.muted = true;
      await until(() => b.isLeader);
      frozen.state.muted = false;
      await until(() => leaders([a, b]) === 1);
      await new Promise((r) => setTimeout(r, 300));
      expect(leaders([a, b])).toBe(1);
      a.close();
      b.close();
    },
    async emitsChanges() {
      const key = name();
      const a = electLeader({ name: key, locks: locks(), ...timing });
      const seen: boolean[] = [];
      const sub = a.isLeader$.subscribe((v) => seen.push(v));
      await until(() => a.isLeader);
      a.close();
      expect(seen).toEqual([false, true, false]);
      sub.unsubscribe();
    },
  };
}
