import { HokanError, type LiveEvent } from "@hokan/core";
import { describe, expect, it } from "vitest";
import { createHttpTransport, type Fetcher } from "../src/index.js";

const scope = { appId: "jp.example.mail", appVersion: "1.0.0", platform: "android" } as const;

/** A transport whose live channel answers with these chunks of an event stream, then ends. */
function streaming(chunks: readonly (string | Uint8Array)[]) {
  const encoder = new TextEncoder();
  const fetcher: Fetcher = async () =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (const c of chunks) controller.enqueue(typeof c === "string" ? encoder.encode(c) : c);
          controller.close();
        },
      }),
      { status: 200, headers: { "content-type": "text/event-stream" } },
    );
  return createHttpTransport({ baseUrl: "http://127.0.0.1:9", token: () => "t", fetch: fetcher });
}

/** What the live channel delivered before it ended, and how it ended. */
function read(transport: ReturnType<typeof streaming>) {
  return new Promise<{ events: LiveEvent[]; error: unknown }>((resolve) => {
    const events: LiveEvent[] = [];
    transport
      .live([scope])
      .subscribe({ next: (e) => events.push(e), error: (error) => resolve({ events, error }) });
  });
}

const hint = (seq: number) => JSON.stringify({ type: "changed", appId: scope.appId, epoch: 1, seq });

describe("the live channel's event stream", () => {
  it("reads events however they are framed: CRLF, CR, comments, other fields, split anywhere", async () => {
    const text =
      `: a comment a proxy may send\r\n\r\n` +
      `event: hint\r\ndata: ${hint(1)}\r\n\r\n` +
      `id: 7\rdata: ${hint(2)}\r\r` +
      `data: ${hint(3)}\n\n`;
    // Split every few bytes, and one multi-byte character across two reads.
    const bytes = new TextEncoder().encode(`${text}data: {"type":"beat","note":"保管"}\n\n`);
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += 5) chunks.push(bytes.slice(i, i + 5));
    const { events, error } = await read(streaming(chunks));
    expect(events).toEqual([
      JSON.parse(hint(1)),
      JSON.parse(hint(2)),
      JSON.parse(hint(3)),
      { type: "beat", note: "保管" },
    ]);
    // The stream's end is a drop the engine reopens after.
    expect(HokanError.is(error, "network")).toBe(true);
  });

  it("joins an event's data lines, and refuses an event that is not JSON as a protocol error", async () => {
    const { events, error } = await read(
      streaming([`data: {"type":"beat",\ndata: "n":1}\n\n`, "data: not json\n\n", `data: ${hint(9)}\n\n`]),
    );
    expect(events).toEqual([{ type: "beat", n: 1 }]);
    expect(HokanError.is(error, "protocol")).toBe(true);
  });

  it("refuses an event that never ends before it fills memory", async () => {
    const mega = "x".repeat(256 * 1024);
    const { events, error } = await read(streaming(["data: ", mega, mega, mega, mega, mega, "\n\n"]));
    expect(events).toEqual([]);
    expect(HokanError.is(error, "protocol")).toBe(true);
  });
});

describe("the live channel as long polls", () => {
  /** A transport whose polls get these answers in turn (then fail), recording each poll's URL. */
  function polling(answers: readonly unknown[], live?: { mode: "poll" | "auto"; waitMs?: number }) {
    const urls: string[] = [];
    let n = 0;
    const fetcher: Fetcher = async (url) => {
      urls.push(url);
      const answer = answers[n++];
      if (answer === undefined) throw new TypeError("connection refused");
      const text = typeof answer === "string" ? answer : JSON.stringify(answer);
      // As React Native's fetch answers: the whole body at once, no stream.
      return {
        ok: true,
        status: 200,
        headers: new Headers({ "content-type": "application/json" }),
        json: async () => JSON.parse(text) as unknown,
        text: async () => text,
      } as unknown as Response;
    };
    const transport = createHttpTransport({
      baseUrl: "http://127.0.0.1:9",
      token: () => "t",
      fetch: fetcher,
      ...(live ? { live } : {}),
    });
    return { transport, urls };
  }

  it("sends each answer's cursor with the next poll, passes events on, and beats on an empty answer", async () => {
    const { transport, urls } = polling(
      [
        { events: [{ type: "open", heartbeatMs: 2000 }], cursor: "e:" },
        { events: [JSON.parse(hint(1))], cursor: "e:jp.example.mail:1:1" },
        { events: [], cursor: "e:jp.example.mail:1:1" },
      ],
      { mode: "poll", waitMs: 2000 },
    );
    const { events, error } = await read(transport);
    expect(events).toEqual([{ type: "open", heartbeatMs: 2000 }, JSON.parse(hint(1)), { type: "beat" }]);
    expect(HokanError.is(error, "network")).toBe(true);
    expect(urls.map((u) => new URL(u).searchParams.get("wait"))).toEqual([
      "2000ms",
      "2000ms",
      "2000ms",
      "2000ms",
    ]);
    expect(urls.map((u) => new URL(u).searchParams.get("cursor"))).toEqual([
      null,
      "e:",
      "e:jp.example.mail:1:1",
      "e:jp.example.mail:1:1",
    ]);
  });

  it("long-polls by itself where the platform's fetch cannot stream", async () => {
    const saved = globalThis.ReadableStream;
    // @ts-expect-error: removed as on React Native
    delete globalThis.ReadableStream;
    try {
      const { transport, urls } = polling(
        [{ events: [{ type: "open", heartbeatMs: 25_000 }], cursor: "e:" }],
        {
          mode: "auto",
        },
      );
      const { events } = await read(transport);
      expect(events).toEqual([{ type: "open", heartbeatMs: 25_000 }]);
      expect(new URL(urls[0] as string).searchParams.get("wait")).toBe("25000ms");
    } finally {
      globalThis.ReadableStream = saved;
    }
  });

  it("fails the channel with `protocol` on an answer that is not events and a cursor", async () => {
    for (const bad of ["not json", { events: "none", cursor: "e:" }, { events: [] }]) {
      const { transport } = polling([bad], { mode: "poll" });
      const { error } = await read(transport);
      expect(HokanError.is(error, "protocol"), JSON.stringify(bad)).toBe(true);
    }
  });
});
