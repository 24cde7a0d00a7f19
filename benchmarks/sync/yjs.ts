/**
 * Yjs 13 documents synced over y-websocket 1.5 (its own server, `setupWSConnection`, documents in memory) on
 * 127.0.0.1. An app's data is one Y.Doc holding a Y.Map of documents.
 */
import { createServer } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { canonicalJson } from "@hokan/core";
import { WebSocket, WebSocketServer } from "ws";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { doc, docId, type SystemUnderTest, sampleLive, timed, until, WRITE_CHUNK } from "./workload.js";

const require = createRequire(import.meta.url);

export async function yjs(): Promise<SystemUnderTest> {
  // y-websocket's server is CommonJS and carries its own Yjs build; it only ever touches its own documents.
  const utils = require("y-websocket/bin/utils") as {
    setupWSConnection(conn: unknown, req: unknown, options: { docName: string; gc: boolean }): void;
    docs: Map<string, { getMap(name: string): { size: number } }>;
  };
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  wss.on("connection", (conn, req) => {
    utils.setupWSConnection(conn, req, {
      docName: (req.url ?? "/").slice(1).split("?")[0] as string,
      gc: true,
    });
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  const base = `ws://127.0.0.1:${(http.address() as AddressInfo).port}`;
  let rooms = 0;

  function device(room: string) {
    const ydoc = new Y.Doc();
    const map = ydoc.getMap<Record<string, unknown>>("docs");
    const provider = new WebsocketProvider(base, room, ydoc, {
      WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
      connect: false,
      disableBc: true,
    });
    return {
      ydoc,
      map,
      /** Connects and resolves once the first sync with the server is done. */
      online: () =>
        new Promise<void>((resolve) => {
          provider.once("sync", () => resolve());
          provider.connect();
        }),
      offline: () => provider.disconnect(),
      writeAll(n: number, version = 0) {
        for (let b = 0; b < n; b += WRITE_CHUNK) {
          ydoc.transact(() => {
            for (let i = b; i < Math.min(n, b + WRITE_CHUNK); i++) map.set(docId(i), doc(i, version));
          });
        }
      },
      snapshot: () => canonicalJson(map.toJSON()),
      close() {
        provider.destroy();
        ydoc.destroy();
      },
    };
  }
  const serverSize = (room: string) => utils.docs.get(room)?.getMap("docs").size ?? 0;

  return {
    name: "Yjs over y-websocket",
    config: "Yjs 13, one Y.Doc with a Y.Map of documents, y-websocket 1.5 client and server (in memory)",
    scenarios: {
      async push(n) {
        const room = `push-${rooms++}`;
        const d = device(room);
        d.writeAll(n);
        const seconds = await timed(async () => {
          await d.online();
          await until("the server to hold every document", () => serverSize(room) === n);
        });
        d.close();
        return { seconds };
      },
      async restore(n) {
        const room = `restore-${rooms++}`;
        const seeder = device(room);
        seeder.writeAll(n);
        await seeder.online();
        await until("the seed to arrive", () => serverSize(room) === n);
        seeder.close();
        const d = device(room);
        const seconds = await timed(async () => {
          await d.online();
          await until("every document", () => d.map.size === n);
        });
        d.close();
        return { seconds };
      },
      async live() {
        const room = `live-${rooms++}`;
        const a = device(room);
        const b = device(room);
        await a.online();
        await b.online();
        const waiting = new Map<string, () => void>();
        b.map.observe((event) => {
          for (const key of event.keysChanged) waiting.get(key)?.();
        });
        const result = await sampleLive(
          (id) => new Promise<void>((r) => waiting.set(id, r)),
          (i, id) => a.map.set(id, doc(i)),
        );
        a.close();
        b.close();
        return result;
      },
      async conflict(n) {
        const room = `conflict-${rooms++}`;
        const a = device(room);
        const b = device(room);
        a.writeAll(n);
        await a.online();
        await b.online();
        await until("the first copy", () => b.map.size === n);
        a.offline();
        b.offline();
        a.writeAll(n, 1);
        b.writeAll(n, 2);
        let converged = false;
        const seconds = await timed(async () => {
          await Promise.all([a.online(), b.online()]);
          await until("convergence", () => {
            converged = a.snapshot() === b.snapshot();
            return converged;
          });
        });
        a.close();
        b.close();
        return { seconds, converged };
      },
    },
    async close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
      http.close();
    },
  };
}
