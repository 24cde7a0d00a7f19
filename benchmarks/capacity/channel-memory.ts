/**
 * What one live channel keeps in the server's heap once garbage is collected, and of what kinds: the figure behind
 * the capacity table's memory per channel, which an operator's metrics read without a collection first.
 *
 * The server runs in this process (on PGlite: a channel's memory does not depend on the database), so the heap can
 * be collected before each reading and two heap snapshots compared; the channels are opened by `devices.ts` in a
 * process of its own. Resident memory is not read here: the snapshots grow it.
 *
 *   node --expose-gc --import tsx --conditions=hokan-source capacity/channel-memory.ts [--channels 5000]
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import { buildServer, createVerifier, openPGlite, parseRegistry, signDevelopmentToken } from "@hokan/server";
import type { Channel, FromDevices, ToDevices } from "./devices.js";

const at = process.argv.indexOf("--channels");
const CHANNELS = at > 0 ? Number(process.argv[at + 1]) : 5_000;
const collect = (globalThis as { gc?: () => void }).gc;
if (!collect || !Number.isInteger(CHANNELS) || CHANNELS < 100 || CHANNELS > 20_000) {
  console.error("usage: node --expose-gc … channel-memory.ts [--channels 100..20000]");
  process.exit(2);
}
const DEADLINE = setTimeout(() => {
  console.error("channel-memory: over its 120 s bound");
  process.exit(1);
}, 120_000);

const SECRET = "channel-memory-secret-of-at-least-32-bytes";
const APP = "jp.example.mail";
const db = await openPGlite();
const server = await buildServer({
  db,
  registry: parseRegistry({
    apps: [{ appId: APP, platform: "android", capabilities: ["backup", "restore"] }],
  }),
  verify: await createVerifier({ secret: SECRET }),
  rateLimit: { perSecond: 1_000_000, burst: 1_000_000 },
  logger: false,
});
const devices = fork(fileURLToPath(new URL("./devices.ts", import.meta.url)), [], {
  execArgv: ["--import", "tsx"],
});
try {
  await server.app.listen({ port: 0, host: "127.0.0.1" });
  const { port } = server.app.server.address() as { port: number };
  const channels: Channel[] = await Promise.all(
    Array.from({ length: CHANNELS }, async (_, a) => ({
      url: `http://127.0.0.1:${port}/v1/live?scope=${APP},android,3.0.0`,
      token: await signDevelopmentToken(SECRET, { account: `memory-${a}`, expiresIn: "1h" }),
      writer: false,
    })),
  );
  const ask = (message: ToDevices) =>
    new Promise<FromDevices>((resolve) => {
      devices.once("message", resolve);
      devices.send(message);
    });
  // One channel first, closed again: code compiled and pools filled on first use are not counted per channel.
  await ask({ type: "open", channels: channels.slice(0, 1), width: 1 });

  const kinds = async (): Promise<Map<string, { count: number; bytes: number }>> => {
    collect();
    collect();
    const chunks: string[] = [];
    const stream = v8.getHeapSnapshot();
    stream.setEncoding("utf8");
    for await (const chunk of stream) chunks.push(chunk as string);
    const snapshot = JSON.parse(chunks.join("")) as {
      snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
      nodes: number[];
      strings: string[];
    };
    const fields = snapshot.snapshot.meta.node_fields;
    const [type, name, size] = ["type", "name", "self_size"].map((f) => fields.indexOf(f)) as [
      number,
      number,
      number,
    ];
    const types = snapshot.snapshot.meta.node_types[0];
    const out = new Map<string, { count: number; bytes: number }>();
    for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
      const t = types[snapshot.nodes[i + type] as number] as string;
      // Objects and closures by their constructor or function; the rest (strings, arrays, code) by their kind.
      const key =
        t === "object" || t === "closure"
          ? `${t} ${snapshot.strings[snapshot.nodes[i + name] as number]}`
          : t;
      const k = out.get(key) ?? { count: 0, bytes: 0 };
      k.count++;
      k.bytes += snapshot.nodes[i + size] as number;
      out.set(key, k);
    }
    return out;
  };

  const before = await kinds();
  collect();
  const used = process.memoryUsage();
  const opened = (await ask({ type: "open", channels: channels.slice(1), width: 50 })) as FromDevices & {
    type: "opened";
  };
  if (opened.failed > 0) throw new Error(`${opened.failed} channels did not open`);
  const held = server.hub.connections;
  const uncollected = process.memoryUsage();
  collect();
  collect();
  // Read before the snapshot, which takes memory of its own.
  const collected = process.memoryUsage();
  const after = await kinds();
  const per = (bytes: number) => `${(bytes / held / 1024).toFixed(2)} KB`;
  console.log(`${held} live channels held by one server process`);
  console.log(
    `JS heap per channel, as metrics read it (not collected): ${per(uncollected.heapUsed - used.heapUsed)}`,
  );
  console.log(
    `JS heap per channel, kept after a full collection:       ${per(collected.heapUsed - used.heapUsed)}`,
  );
  console.log("\nkept per channel, by kind (bytes; the kinds over 40 bytes):");
  const rows = [...after]
    .map(([key, k]) => ({
      key,
      count: (k.count - (before.get(key)?.count ?? 0)) / held,
      bytes: (k.bytes - (before.get(key)?.bytes ?? 0)) / held,
    }))
    .filter((r) => r.bytes > 40)
    .sort((a, b) => b.bytes - a.bytes);
  for (const r of rows)
    console.log(`${r.bytes.toFixed(0).padStart(6)} B  ×${r.count.toFixed(1).padStart(5)}  ${r.key}`);
} finally {
  devices.kill();
  await server.app.close();
  await db.close();
  clearTimeout(DEADLINE);
}
