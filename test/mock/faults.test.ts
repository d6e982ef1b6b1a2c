// Delivery faults and stream hygiene: dropped connections, client aborts, slow drips, time to
// first byte, mid-stream errors, long streams, and backpressure (a reader that stops reading stops
// the writer instead of filling memory).
import { createServer, request as httpRequest, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import Anthropic, { APIConnectionError } from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deliver } from "../../src/mock/delivery.ts";
import { type MockServer, startMock } from "../../src/mock/server.ts";
import { checkStream, type Json, parseSse, post } from "./helpers.ts";

let mock: MockServer;
beforeAll(async () => {
  mock = await startMock({ quiet: true });
});
afterAll(() => mock.close());

const streamBody = (content: string, extra: Json = {}) => ({
  model: "claude-sonnet-5-5",
  max_tokens: 100,
  stream: true,
  messages: [{ role: "user", content }],
  ...extra,
});

/** Reads a body chunk by chunk, returning what arrived before an error (if any). */
async function readAll(res: Response): Promise<{ text: string; error: unknown }> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text, error: undefined };
      text += decoder.decode(value, { stream: true });
    }
  } catch (error) {
    return { text, error };
  }
}

describe("drop", () => {
  it("sends N events, then cuts the connection", async () => {
    const res = await post(`${mock.url}/v1/messages`, streamBody("[[mock:drop after=3]]"));
    expect(res.status).toBe(200);
    const { text, error } = await readAll(res);
    expect(error).toBeDefined();
    expect(parseSse(text).map((e) => e.event)).toEqual(["message_start", "content_block_start", "ping"]);
    const rec = await mock.waitFor((r) => r.id === res.headers.get("request-id") && r.endedAt !== undefined);
    expect(rec.clientClosedEarly).toBe(false);
    expect(rec.scenario).toBe("drop");
  });

  it("makes the SDK's stream fail like a network error", async () => {
    const client = new Anthropic({ baseURL: mock.url, apiKey: "test", maxRetries: 0 });
    const stream = client.messages.stream(
      { model: "claude-sonnet-5-5", max_tokens: 10, messages: [{ role: "user", content: "hi" }] },
      { headers: { "x-mock-scenario": "drop after=5" } },
    );
    await expect(stream.finalMessage()).rejects.toThrow();
  });

  it("closes a non-streaming request without an answer", async () => {
    const client = new Anthropic({ baseURL: mock.url, apiKey: "test", maxRetries: 0 });
    const err = await client.messages
      .create(
        { model: "claude-sonnet-5-5", max_tokens: 10, messages: [{ role: "user", content: "hi" }] },
        { headers: { "x-mock-scenario": "drop" } },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIConnectionError);
  });
});

describe("client going away", () => {
  it("is recorded as clientClosedEarly and announced", async () => {
    const closed = new Promise<string>((resolve) => mock.events.once("clientClosed", (r) => resolve(r.id)));
    const res = await post(`${mock.url}/v1/messages`, streamBody("[[mock:slow delay=50]]"));
    const id = res.headers.get("request-id");
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await reader.cancel();
    expect(await closed).toBe(id);
    const rec = await mock.waitFor((r) => r.id === id && r.clientClosedEarly);
    expect(rec.status).toBe(200);
    expect(rec.endedAt).toBeGreaterThanOrEqual(rec.startedAt);
  });
});

describe("timing", () => {
  it("slow: every event after a delay", async () => {
    const t0 = performance.now();
    const res = await post(
      `${mock.url}/v1/messages`,
      streamBody('[[mock:slow delay=20 text="a b c d e f"]]'),
    );
    const stamps: number[] = [];
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      stamps.push(performance.now());
      text += new TextDecoder().decode(value);
    }
    const summary = checkStream(text);
    // message_start, block start, ping, 3 deltas, block stop, message_delta, message_stop: 9 events.
    expect(summary.events).toHaveLength(9);
    // A drip, not one burst at the end: the first bytes come long before the last.
    expect((stamps.at(-1) ?? 0) - (stamps[0] ?? 0)).toBeGreaterThanOrEqual(100);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(9 * 20 - 5);
  });

  it("ttfb: a delay before the headers, on any scenario", async () => {
    const t0 = performance.now();
    const res = await post(
      `${mock.url}/v1/messages`,
      { ...streamBody("hi"), stream: false },
      { "x-mock-scenario": "tool ttfb=150" },
    );
    expect(performance.now() - t0).toBeGreaterThanOrEqual(145);
    expect(((await res.json()) as Json).stop_reason).toBe("end_turn"); // no tools declared: text
  });
});

describe("stream shapes", () => {
  it("midstream_error: a 200 stream, some text, then an error event and the end", async () => {
    const res = await post(`${mock.url}/v1/messages`, streamBody("[[mock:midstream_error after=1]]"));
    expect(res.status).toBe(200);
    const events = parseSse(await res.text());
    expect(events.map((e) => e.event)).toEqual([
      "message_start",
      "content_block_start",
      "ping",
      "content_block_delta",
      "error",
    ]);
    expect(JSON.parse(events.at(-1)?.data ?? "")).toEqual({
      type: "error",
      error: { type: "overloaded_error", message: "Overloaded" },
    });
  });

  it("long: N text deltas, and the same token count without streaming", async () => {
    const res = await post(`${mock.url}/v1/messages`, streamBody("[[mock:long count=2000]]"));
    const summary = checkStream(await res.text());
    expect(summary.events.filter((e) => e.event === "content_block_delta")).toHaveLength(2000);
    expect(summary.text.split(" ")).toHaveLength(2000);
    const plain = (await (
      await post(`${mock.url}/v1/messages`, { ...streamBody("[[mock:long count=2000]]"), stream: false })
    ).json()) as { usage: Json; content: Json[] };
    expect(plain.usage.output_tokens).toBe(summary.outputTokens);
    expect(plain.content[0]?.text).toBe(summary.text);
  });

  it("echo: the request body as received, as the reply text", async () => {
    const raw = `{"model":"m","max_tokens":9,  "messages":[{"role":"user","content":"[[mock:echo]] é"}],"x":1}`;
    const res = await post(`${mock.url}/v1/messages`, raw);
    expect(((await res.json()) as { content: Json[] }).content[0]?.text).toBe(raw);
    const rec = mock.requests.find((r) => r.id === res.headers.get("request-id"));
    expect(rec?.body.equals(Buffer.from(raw))).toBe(true);
    expect(rec?.json).toEqual(JSON.parse(raw));
  });
});

describe("backpressure", () => {
  it("stops pulling events while the reader does not read, and resumes when it does", async () => {
    let pulled = 0;
    const total = 200_000;
    function* events(): Generator<string> {
      for (let i = 0; i < total; i++) {
        pulled++;
        yield `event: x\ndata: ${"y".repeat(100)}\n\n`;
      }
    }
    const server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      const abort = new AbortController();
      res.on("close", () => abort.abort());
      void deliver(res, events(), {
        delayMs: 0,
        dropAfter: undefined,
        signal: abort.signal,
        onDrop: () => {},
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const res = await new Promise<IncomingMessage>((resolve) =>
        httpRequest({ port, host: "127.0.0.1" }, resolve).end(),
      );
      res.pause();
      await new Promise((r) => setTimeout(r, 250));
      const whilePaused = pulled;
      await new Promise((r) => setTimeout(r, 250));
      // The writer waits: nothing more is pulled while the reader is paused, and the ~23 MB are
      // nowhere near all produced (only what the socket buffers hold).
      expect(pulled).toBe(whilePaused);
      expect(whilePaused).toBeLessThan(total / 2);
      let bytes = 0;
      res.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
      });
      res.resume();
      await new Promise((resolve) => res.on("end", resolve));
      expect(pulled).toBe(total);
      expect(bytes).toBe(total * 117);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
