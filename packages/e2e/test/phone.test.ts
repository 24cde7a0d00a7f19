import { fetchStreams } from "@hokan/transport";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BROWSER_ONLY_GLOBALS, removeBrowserGlobals } from "../src/hermes.js";
import { endToEndScenarios } from "./scenarios.js";

// The scenarios as a React Native app runs them: no browser-only globals in this process from the moment the server
// is up, a `fetch` that cannot stream (so the live channel long-polls), and a SQLite store.
let restore: (() => void) | undefined;
const around = {
  started: () => {
    restore ??= removeBrowserGlobals();
  },
  stopping: () => {
    restore?.();
    restore = undefined;
  },
};

describe("a phone's runtime", () => {
  beforeAll(around.started);
  afterAll(around.stopping);
  it("has none of the browser-only globals, so the transport long-polls", () => {
    for (const name of BROWSER_ONLY_GLOBALS) expect(name in globalThis, name).toBe(false);
    expect((globalThis.crypto as { randomUUID?: unknown }).randomUUID).toBeUndefined();
    expect(fetchStreams()).toBe(false);
  });
});

endToEndScenarios("postgres", "phone", around);
