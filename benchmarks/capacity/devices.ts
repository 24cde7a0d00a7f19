/**
 * A load generator's devices, in a process of their own (forked by `capacity.ts`): each holds live channels open on
 * hokan-server (server-sent events over `node:http`, one socket each) and times every hint that carries a document
 * written by the account's other device, from the write's start to the hint's arrival.
 */
import { Agent, request } from "node:http";

export interface Channel {
  readonly url: string;
  readonly token: string;
  /** The device that writes: hints on its own channel are not timed. */
  readonly writer: boolean;
}

export type ToDevices =
  | { readonly type: "open"; readonly channels: readonly Channel[]; readonly width: number }
  | { readonly type: "report" }
  | { readonly type: "reset" }
  | { readonly type: "close" };

export type FromDevices =
  | { readonly type: "opened"; readonly open: number; readonly failed: number; readonly ms: number }
  | {
      readonly type: "report";
      readonly latenciesMs: readonly number[];
      readonly hintsWithoutDocuments: number;
      readonly open: number;
      readonly dropped: number;
    };

/** Wall time on a clock shared by the processes of one machine, in ms with sub-ms precision. */
export const wallMs = (): number => performance.timeOrigin + performance.now();

// One socket per channel, never pooled: a channel holds its connection for as long as it lives.
const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
let latencies: number[] = [];
let withoutDocuments = 0;
let open = 0;
let dropped = 0;
const requests: ReturnType<typeof request>[] = [];

function openChannel(channel: Channel): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (ok: boolean) => {
      if (settled) return;
      settled = true;
      resolve(ok);
    };
    const req = request(
      channel.url,
      { agent, headers: { authorization: `Bearer ${channel.token}`, accept: "text/event-stream" } },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          settle(false);
          return;
        }
        open++;
        let buffer = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buffer += chunk;
          for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            if (!frame.startsWith("data: ")) continue;
            const event = JSON.parse(frame.slice(6)) as {
              type: string;
              documents?: { data: { sentAt?: number } | null }[];
            };
            if (event.type === "open") settle(true);
            if (event.type !== "changed" || channel.writer) continue;
            if (!event.documents) {
              withoutDocuments++;
              continue;
            }
            const now = wallMs();
            for (const d of event.documents) if (d.data?.sentAt) latencies.push(now - d.data.sentAt);
          }
        });
        res.on("close", () => {
          open--;
          dropped++;
          settle(false);
        });
      },
    );
    req.on("error", () => settle(false));
    req.end();
    requests.push(req);
  });
}

process.on("message", async (message: ToDevices) => {
  const send = (m: FromDevices) => process.send?.(m);
  if (message.type === "open") {
    const started = performance.now();
    let next = 0;
    let failed = 0;
    // A bounded number of channels opening at once: a burst past the listen backlog would be refused.
    const lane = async () => {
      while (next < message.channels.length) {
        if (!(await openChannel(message.channels[next++] as Channel))) failed++;
      }
    };
    await Promise.all(Array.from({ length: message.width }, lane));
    send({ type: "opened", open, failed, ms: performance.now() - started });
  } else if (message.type === "reset") {
    latencies = [];
    withoutDocuments = 0;
  } else if (message.type === "report") {
    send({ type: "report", latenciesMs: latencies, hintsWithoutDocuments: withoutDocuments, open, dropped });
  } else if (message.type === "close") {
    for (const r of requests) r.destroy();
    process.exit(0);
  }
});
