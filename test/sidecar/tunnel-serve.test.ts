// serve(): one tunnel request handed to the runner and its answer sent back. Refusals before anything
// ran become tunnel errors the Worker can retry elsewhere; a client that leaves aborts the run; the
// runner's body is pulled only as the Worker grants credit.
import { describe, expect, it } from "vitest";
import {
  INITIAL_WINDOW,
  type IncomingRequest,
  MAX_CHUNK_BYTES,
  type RequestHead,
  TunnelLink,
} from "../../src/shared/tunnel/index.ts";
import {
  type RunHandler,
  type RunRequest,
  type RunResponse,
  type RunSummary,
  serve,
  trailer,
} from "../../src/sidecar/serve.ts";
import { turn, until } from "../support/sidecar-hub.ts";

const HEAD: RequestHead = {
  requestId: "req_serve",
  method: "POST",
  path: "/v1/chat/completions",
  headers: [["content-type", "application/json"]],
  keyId: "key_bob",
  keyName: "bob",
  format: "openai",
};
const enc = new TextEncoder();
const ABORTED: RunSummary = {
  usage: {
    input_tokens: 4200,
    output_tokens: 35,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 900,
  },
  costUsd: null,
  model: "claude-opus-5-5",
  outcome: "aborted",
  numTurns: 2,
};
const SUMMARY = {
  usage: { input_tokens: 1, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  costUsd: null,
  model: null,
  outcome: "complete" as const,
};

/** A Worker-side link and a sidecar-side link wired together, the sidecar serving with `run`. */
function pair(run: RunHandler, opts: { summaries?: boolean } = {}) {
  const logs: string[] = [];
  const links: { worker?: TunnelLink; sidecar?: TunnelLink } = {};
  const summaries = opts.summaries ?? false;
  links.worker = new TunnelLink({
    role: "do",
    summaries,
    send: (m) => queueMicrotask(() => links.sidecar?.receiveMessage(m)),
  });
  links.sidecar = new TunnelLink({
    role: "sidecar",
    summaries,
    maxStreams: 4,
    send: (m) => queueMicrotask(() => links.worker?.receiveMessage(m)),
    onRequest: (req: IncomingRequest) => void serve(req, run, (l) => logs.push(l)),
  });
  return { worker: links.worker, logs };
}

function json(value: unknown): ReadableStream<Uint8Array> {
  return new Response(JSON.stringify(value)).body as ReadableStream<Uint8Array>;
}

function answer(status: number, text: string, headers: Record<string, string> = {}): RunResponse {
  return {
    status,
    headers: { "content-type": "application/json", ...headers },
    body: new Response(text).body as ReadableStream<Uint8Array>,
    done: Promise.resolve(SUMMARY),
  };
}

describe("serve", () => {
  it("turns a runner's 529/429/503 into a retryable tunnel error with its message and retry-after", async () => {
    for (const [status, code] of [
      [529, "overloaded"],
      [429, "rate_limited"],
      [503, "unavailable"],
    ] as const) {
      const { worker } = pair(async () =>
        answer(status, JSON.stringify({ error: { type: "x", message: "the queue is full" } }), {
          "retry-after": "7",
        }),
      );
      const out = worker.open(HEAD, json({}));
      expect(await out.response).toEqual({
        ok: false,
        outcome: { kind: "error", code, message: "the queue is full", headersSent: false, retryAfter: 7 },
      });
    }
  });

  it("passes any other status through as a response (a 400 in the route's format)", async () => {
    const body = JSON.stringify({
      error: { message: "tools are not available here; use /api/", type: "invalid_request_error" },
    });
    const { worker } = pair(async () => answer(400, body));
    const out = worker.open(HEAD, json({ tools: [] }));
    const res = await out.response;
    if (!res.ok) throw new Error("expected a response");
    expect(res.status).toBe(400);
    expect(await new Response(res.body).text()).toBe(body);
  });

  it("answers internal when the runner throws, and invalid_request for a body that is not JSON", async () => {
    const { worker, logs } = pair(async () => {
      throw new Error("spawn claude ENOENT");
    });
    const out = worker.open(HEAD, json({}));
    expect(await out.response).toMatchObject({ ok: false, outcome: { kind: "error", code: "internal" } });
    expect(logs.some((l) => /spawn claude ENOENT/.test(l))).toBe(true);
    const bad = worker.open(
      { ...HEAD, requestId: "req_bad" },
      new Response("{nope").body as ReadableStream<Uint8Array>,
    );
    expect(await bad.response).toMatchObject({
      ok: false,
      outcome: { kind: "error", code: "invalid_request" },
    });
  });

  it("aborts the run and cancels its stream when the client goes away", async () => {
    let seen: RunRequest | null = null;
    let cancelled: unknown = null;
    const { worker } = pair(async (req) => {
      seen = req;
      return {
        status: 200,
        headers: { "content-type": "text/event-stream" },
        body: new ReadableStream({
          pull: (c) => {
            c.enqueue(enc.encode("data: {}\n\n"));
            return new Promise((r) => setTimeout(r, 5));
          },
          cancel: (reason) => {
            cancelled = reason ?? "cancelled";
          },
        }),
        done: new Promise(() => {}),
      };
    });
    const out = worker.open(HEAD, json({}));
    const res = await out.response;
    if (!res.ok) throw new Error("expected a response");
    const reader = res.body.getReader();
    await reader.read();
    await reader.cancel("client left");
    await until(() => (seen as RunRequest | null)?.signal.aborted === true && cancelled !== null);
  });

  it("reports what a run used after the client left mid-stream, once the run has stopped", async () => {
    let stop: (s: RunSummary) => void = () => {};
    const { worker } = pair(
      async (req) => {
        const done = new Promise<RunSummary>((resolve) => {
          stop = resolve;
        });
        // The runner winds down after the abort; its summary comes when the CLI has exited.
        req.signal.addEventListener("abort", () => setTimeout(() => stop(ABORTED), 20), { once: true });
        return {
          status: 200,
          headers: { "content-type": "text/event-stream" },
          body: new ReadableStream({ pull: (c) => c.enqueue(enc.encode("data: {}\n\n")) }),
          done,
        };
      },
      { summaries: true },
    );
    const out = worker.open(HEAD, json({}));
    const res = await out.response;
    if (!res.ok) throw new Error("expected a response");
    const reader = res.body.getReader();
    await reader.read();
    await reader.cancel("client left");
    expect(await out.trailer).toEqual(trailer(ABORTED));
  });

  it("reports what a non-streaming run used when the client left before its answer", async () => {
    const { worker } = pair(
      async (req) => {
        await new Promise((resolve) => req.signal.addEventListener("abort", resolve, { once: true }));
        return { ...answer(500, "{}"), done: Promise.resolve(ABORTED) };
      },
      { summaries: true },
    );
    const out = worker.open(HEAD, json({}));
    await turn();
    out.cancel("client disconnected");
    expect(await out.trailer).toEqual(trailer(ABORTED));
  });

  it("reports nothing used when the client left before the run started", async () => {
    const { worker } = pair(async () => new Promise<RunResponse>(() => {}), { summaries: true });
    const upload = new ReadableStream<Uint8Array>({ pull: () => new Promise(() => {}) });
    const out = worker.open(HEAD, upload);
    await turn();
    out.cancel("client disconnected");
    expect(await out.trailer).toEqual({ usage: {}, costUsd: 0, model: null, outcome: "aborted" });
  });

  it("reports a runner stream that fails after the head as an in-stream error", async () => {
    const { worker } = pair(async () => ({
      status: 200,
      headers: { "content-type": "text/event-stream" },
      body: new ReadableStream({
        start(c) {
          c.enqueue(enc.encode("data: {}\n\n"));
          c.error(new Error("boom"));
        },
      }),
      done: Promise.resolve(SUMMARY),
    }));
    const out = worker.open(HEAD, json({}));
    await out.response;
    expect(await out.outcome).toMatchObject({ kind: "error", code: "internal", headersSent: true });
  });

  it("pulls the runner's output only as the Worker grants credit", async () => {
    let produced = 0;
    const { worker } = pair(async () => ({
      status: 200,
      headers: { "content-type": "application/octet-stream" },
      body: new ReadableStream(
        {
          pull(c) {
            produced += MAX_CHUNK_BYTES;
            c.enqueue(new Uint8Array(MAX_CHUNK_BYTES));
          },
        },
        { highWaterMark: 0 },
      ),
      done: new Promise(() => {}),
    }));
    const out = worker.open(HEAD, json({}));
    await out.response;
    for (let i = 0; i < 200; i++) await turn();
    // One window in flight, one chunk waiting for credit, and the stream's own one-chunk lookahead.
    expect(produced).toBeLessThanOrEqual(INITIAL_WINDOW + 2 * MAX_CHUNK_BYTES);
    out.cancel("done");
  });
});
