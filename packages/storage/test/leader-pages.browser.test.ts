import { expect, it } from "vitest";
import type { LeaderElection } from "../src/index.js";
import { until } from "./leader-cases.js";

const moduleUrl = new URL("../src/leader.ts", import.meta.url).href;

/** A second page of the same origin: a same-origin frame with its own browsing context, running the election. */
async function openPage(name: string): Promise<{ frame: HTMLIFrameElement; election: () => LeaderElection }> {
  const frame = document.createElement("iframe");
  frame.srcdoc = `<!doctype html><script type="module">
    const { electLeader } = await import(${JSON.stringify(moduleUrl)});
    window.election = electLeader({ name: ${JSON.stringify(name)}, heartbeatMs: 20, staleMs: 150 });
  </script>`;
  document.body.append(frame);
  const win = () => frame.contentWindow as (Window & { election?: LeaderElection }) | null;
  await until(() => win()?.election !== undefined, 10_000);
  return { frame, election: () => win()?.election as LeaderElection };
}

it("elects one of two pages of one origin, and the other takes over when the leader's page goes away", async () => {
  const name = `pages-${Date.now()}`;
  const one = await openPage(name);
  const two = await openPage(name);
  expect(typeof navigator.locks.request).toBe("function");
  await until(() => [one, two].filter((p) => p.election().isLeader).length === 1);
  await new Promise((r) => setTimeout(r, 300));
  expect([one, two].filter((p) => p.election().isLeader)).toHaveLength(1);
  const leader = one.election().isLeader ? one : two;
  const other = leader === one ? two : one;
  // Closing a page releases its lock without any goodbye from its code.
  leader.frame.remove();
  await until(() => other.election().isLeader, 5000);
  other.election().close();
  other.frame.remove();
}, 30_000);
