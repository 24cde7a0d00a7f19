import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { startDemo } from "../demo-server.js";

describe("pnpm start's demo server", () => {
  it("takes the next free port when the one asked for is taken, unless told it must have it", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(startDemo({ port, dataDir: "memory://" })).rejects.toThrow(/in use/i);
      const demo = await startDemo({ port, strictPort: false, dataDir: "memory://" });
      try {
        expect(Number(new URL(demo.url).port)).toBeGreaterThan(port);
        expect((await fetch(demo.url)).status).toBe(200);
      } finally {
        await demo.close();
      }
    } finally {
      blocker.close();
    }
  }, 60_000);
});
