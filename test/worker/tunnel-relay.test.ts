// Claude Code mode requests relayed through the TunnelHub to a sidecar and back: what the sidecar
// receives, the answer streamed to the client as it is written, the sidecar's trailer as the usage
// summary, in-stream errors when the link drops, cancel on client disconnect, bounded buffering.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import {
  INITIAL_WINDOW,
  type IncomingRequest,
  MAX_CHUNK_BYTES,
  type RequestHead,
} from "../../src/shared/tunnel/index.ts";
import { call, newKey } from "./helpers.ts";
import { bytes, connect, readAll, settleFor, type TestSidecar, text } from "./tunnel-support.ts";

const SSE: [string, string][] = [["content-type", "text/event-stream; charset=utf-8"]];
const open: TestSidecar[] = [];

afterEach(async () => {
  for (const s of open.splice(0)) s.close();
  await settleFor(20);
});

async function sidecar(...args: Parameters<typeof connect>): Promise<TestSidecar> {
  const s = await connect(...args);
  open.push(s);
  return s;
}

function ask(key: string, path = "/v1/messages", body: Record<string, unknown> = {}): Promise<Response> {
  return call(path, {
    method: "POST",
    headers: {
      "x-api-key": key,
      "content-type": "application/json",
      "anthropic-version": "2023-06-01",
      "anthropic-beta": "test-beta",
      cookie: "session=secret",
    },
    body: JSON.stringify({
      model: "claude-sonnet-4-5",
      max_tokens: 64,
      stream: true,
      messages: [{ role: "user", content: "hi" }],
      ...body,
    }),
  });
}

describe("relay", () => {
  it("gives the sidecar the request head, key and body, and never the client's credentials", async () => {
    const s = await sidecar();
    const k = await newKey({ name: "anna" });
    const pending = ask(k.key, "/cc/v1/messages?beta=true");
    const req = await s.nextRequest();
    expect(req.head).toMatchObject({
      method: "POST",
      path: "/cc/v1/messages?beta=true",
      keyId: k.id,
      keyName: "anna",
      format: "anthropic",
    } satisfies Partial<RequestHead>);
    expect(req.head.requestId).toMatch(/^req_/);
    const names = req.head.headers.map(([n]) => n);
    expect(names).toContain("content-type");
    expect(req.head.headers).toContainEqual(["anthropic-beta", "test-beta"]);
    for (const secret of ["x-api-key", "authorization", "cookie", "x-ccproxy-key"])
      expect(names).not.toContain(secret);
    expect(JSON.parse(text(await readAll(req.body)))).toMatchObject({ messages: [{ content: "hi" }] });
    req.respond(200, [["content-type", "application/json"]]);
    await req.write(bytes('{"ok":true}'));
    await req.end();
    const res = await pending;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    expect(res.headers.get("x-request-id")).toBe(req.head.requestId);
  });

  it("sends OpenAI-format routes with format openai", async () => {
    const s = await sidecar();
    const k = await newKey();
    const pending = ask(k.key, "/v1/chat/completions");
    const req = await s.nextRequest();
    expect(req.head.format).toBe("openai");
    req.respond(200, [["content-type", "application/json"]]);
    await req.end();
    expect((await pending).status).toBe(200);
  });

  it("streams each chunk to the client as the sidecar writes it, not when the run ends", async () => {
    const s = await sidecar();
    const k = await newKey();
    const pending = ask(k.key);
    const req = await s.nextRequest();
    req.respond(200, [...SSE, ["x-ccproxy-session", "sess_1"], ["connection", "x-drop"], ["x-drop", "1"]]);
    const res = await pending;
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(res.headers.get("x-ccproxy-session")).toBe("sess_1");
    expect(res.headers.get("x-drop")).toBeNull();
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    for (let i = 0; i < 3; i++) {
      const event = `event: ping\ndata: {"i":${i}}\n\n`;
      const wrote = Date.now();
      await req.write(bytes(event));
      // The sidecar writes nothing more until the client has this event.
      const { value } = await reader.read();
      expect(text(value ?? new Uint8Array())).toBe(event);
      expect(Date.now() - wrote).toBeLessThan(250);
    }
    await req.end({ usage: { input_tokens: 1, output_tokens: 2 } });
    expect((await reader.read()).done).toBe(true);
  });

  it("turns the sidecar's trailer into the request's usage summary", async () => {
    const s = await sidecar({
      onRequest: (req) => {
        void (async () => {
          await readAll(req.body);
          req.respond(200, SSE);
          await req.write(bytes("event: message_stop\ndata: {}\n\n"));
          await req.end({
            usage: {
              input_tokens: 10,
              output_tokens: 20,
              cache_read_input_tokens: 5,
              cache_creation_input_tokens: 0,
            },
            costUsd: 0.0123,
            model: "claude-sonnet-4-5",
            outcome: "complete",
            numTurns: 2,
          });
        })();
      },
    });
    expect(s.requests).toHaveLength(0);
    const hub = env.HUB.get(env.HUB.idFromName("hub"));
    const head: RequestHead = {
      requestId: `req_trailer_${crypto.randomUUID()}`,
      method: "POST",
      path: "/v1/messages",
      headers: [],
      keyId: "key_trailer",
      keyName: "t",
      format: "anthropic",
    };
    const result = await hub.dispatch({
      head,
      body: new Response("{}").body as ReadableStream,
      exclude: [],
      waitMs: 0,
    });
    if (!result.ok) throw new Error("dispatch failed");
    expect(text(await readAll(result.body))).toBe("event: message_stop\ndata: {}\n\n");
    expect(await hub.outcome(head.requestId)).toEqual({
      usage: {
        input_tokens: 10,
        output_tokens: 20,
        cache_read_input_tokens: 5,
        cache_creation_input_tokens: 0,
      },
      costUsd: 0.0123,
      model: "claude-sonnet-4-5",
      outcome: "complete",
      usageKnown: true,
      estimated: false,
    });
  });

  it("ends the client's stream with an in-stream error when the link drops mid-stream (Anthropic)", async () => {
    const s = await sidecar();
    const k = await newKey();
    const pending = ask(k.key);
    const req = await s.nextRequest();
    req.respond(200, SSE);
    await req.write(
      bytes(
        'event: message_start\ndata: {"type":"message_start"}\n\nevent: content_block_delta\ndata: {"partial',
      ),
    );
    const res = await pending;
    const reading = readAll(res.body);
    await settleFor(20);
    s.close();
    const body = text(await reading);
    // The half-written event never reaches the client; the error starts on a clean line.
    expect(body).toBe(
      `event: message_start\ndata: {"type":"message_start"}\n\nevent: error\ndata: ${JSON.stringify({
        type: "error",
        error: {
          type: "api_error",
          message: "The Claude Code sidecar disconnected before the response was complete.",
        },
        request_id: req.head.requestId,
      })}\n\n`,
    );
  });

  it("ends the client's stream with an in-stream error when the link drops mid-stream (OpenAI)", async () => {
    const s = await sidecar();
    const k = await newKey();
    const pending = ask(k.key, "/v1/chat/completions");
    const req = await s.nextRequest();
    req.respond(200, SSE);
    await req.write(bytes('data: {"choices":[]}\n\n'));
    const res = await pending;
    const reading = readAll(res.body);
    await settleFor(20);
    s.close();
    const body = text(await reading);
    expect(body.startsWith('data: {"choices":[]}\n\ndata: {"error":')).toBe(true);
    const error = JSON.parse(body.split("\n\n")[1]?.slice(6) ?? "null") as {
      error: { code: string; message: string };
    };
    expect(error.error.code).toBe("upstream_unreachable");
  });

  it("passes a sidecar's error after the head into the stream, in the route's format", async () => {
    const s = await sidecar();
    const k = await newKey();
    const pending = ask(k.key);
    const req = await s.nextRequest();
    req.respond(200, SSE);
    const res = await pending;
    req.fail("overloaded", "upstream overloaded");
    const body = text(await readAll(res.body));
    expect(body).toContain("event: error\n");
    expect(body).toContain('"type":"overloaded_error","message":"upstream overloaded"');
  });

  it("answers 502 in the route's format when the link drops before the head", async () => {
    const s = await sidecar();
    const k = await newKey();
    const pending = ask(k.key, "/v1/chat/completions");
    await s.nextRequest();
    s.close();
    const res = await pending;
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: { type: "server_error", code: "upstream_unreachable" } });
  });

  it("renders a sidecar's refusal before the head with its status and retry-after", async () => {
    await sidecar({
      onRequest: (req) =>
        req.fail("invalid_request", "client-defined tools are not available here; use /api/"),
    });
    const k = await newKey();
    const res = await ask(k.key);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      type: "error",
      error: {
        type: "invalid_request_error",
        message: "client-defined tools are not available here; use /api/",
      },
    });
  });

  it("tells the sidecar to stop when the client goes away mid-stream", async () => {
    const s = await sidecar();
    const k = await newKey();
    const pending = ask(k.key);
    const req = await s.nextRequest();
    req.respond(200, SSE);
    await req.write(bytes("event: ping\ndata: {}\n\n"));
    const res = await pending;
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await reader.cancel("client left");
    await waitFor(() => req.signal.aborted);
    expect(s.frames.some((f) => f.type === "cancel" && f.stream === req.stream)).toBe(true);
    expect(await req.write(bytes("more"))).toBe(false);
  });

  it("never holds more than the credit window for a client that does not read", async () => {
    let written = 0;
    let writing: Promise<void> = Promise.resolve();
    const total = 8 * 1024 * 1024;
    const s = await sidecar({
      onRequest: (req: IncomingRequest) => {
        writing = (async () => {
          req.respond(200, [["content-type", "application/octet-stream"]]);
          const chunk = new Uint8Array(16 * 1024).fill(120);
          while (written < total) {
            if (!(await req.write(chunk))) return;
            written += chunk.byteLength;
          }
          await req.end();
        })();
      },
    });
    const k = await newKey();
    const res = await ask(k.key);
    await settleFor(300);
    const stalledAt = written;
    await settleFor(200);
    // Nothing read: the sidecar is stuck waiting for credit after one window (the hub holds it).
    expect(written).toBe(stalledAt);
    expect(written).toBeLessThanOrEqual(INITIAL_WINDOW + MAX_CHUNK_BYTES);
    expect(s.requests).toHaveLength(1);
    const body = await readAll(res.body);
    await writing;
    expect(body.byteLength).toBe(total);
  });
});

async function waitFor(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await settleFor(5);
  }
}

describe("client gone before the head", () => {
  it("cancels the run when the request's signal aborts while the sidecar has not answered", async () => {
    const s = await connect();
    const k = await newKey();
    const controller = new AbortController();
    const pending = call("/v1/messages", {
      method: "POST",
      signal: controller.signal,
      headers: { "x-api-key": k.key, "content-type": "application/json" },
      body: JSON.stringify({ model: "claude-sonnet-4-5", messages: [{ role: "user", content: "hi" }] }),
    }).catch((e: unknown) => e);
    const req = await s.nextRequest();
    controller.abort();
    await pending;
    await waitFor(() => req.signal.aborted);
    expect(s.frames.some((f) => f.type === "cancel" && f.stream === req.stream)).toBe(true);
    s.close();
  });
});
