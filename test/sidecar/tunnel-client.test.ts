// The sidecar's tunnel client against an in-memory hub speaking the real protocol: it authenticates,
// serves requests through the runner interface, keeps the link alive, reconnects with backoff (long
// after a wrong secret), aborts runs on a dropped link, and drains on shutdown.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  CLOSE_CODES,
  decodeFrame,
  KEEPALIVE_INTERVAL_MS,
  KEEPALIVE_PING,
  PEER_TIMEOUT_MS,
  RECONNECT,
  type RequestHead,
} from "../../src/shared/tunnel/index.ts";
import { type RunRequest, type RunResponse, serve } from "../../src/sidecar/serve.ts";
import { TunnelClient } from "../../src/sidecar/tunnel-client.ts";
import { FakeHub, turn, until } from "../support/sidecar-hub.ts";

const SECRET = "sidecar-test-secret-of-at-least-32-chars";
const URL = "wss://ccproxy.example/tunnel";
const HOST = "ccproxy.example";
const HEAD: RequestHead = {
  requestId: "req_1",
  method: "POST",
  path: "/v1/messages",
  headers: [["content-type", "application/json"]],
  keyId: "key_alice",
  keyName: "alice",
  format: "anthropic",
};

const enc = new TextEncoder();
const dec = new TextDecoder();

let clients: TunnelClient[] = [];

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"] });
});

afterEach(async () => {
  vi.useRealTimers();
  for (const c of clients) await c.close();
  clients = [];
});

interface Harness {
  hub: FakeHub;
  client: TunnelClient;
  logs: string[];
  runs: RunRequest[];
}

/** A runner that answers with an SSE stream it controls. */
function streamingRunner(runs: RunRequest[], events: string[] = ["event: a\n\n", "event: b\n\n"]) {
  return async (req: RunRequest): Promise<RunResponse> => {
    runs.push(req);
    let i = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const e = events[i++];
        if (e === undefined) controller.close();
        else controller.enqueue(enc.encode(e));
      },
    });
    return {
      status: 200,
      headers: { "Content-Type": "text/event-stream" },
      body,
      done: Promise.resolve({
        usage: {
          input_tokens: 3,
          output_tokens: 4,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
        },
        costUsd: 0.002,
        model: "claude-sonnet-4-5",
        outcome: "complete",
        numTurns: 1,
        sessionId: "sess_1",
      }),
    };
  };
}

function start(
  opts: {
    secret?: string;
    hub?: ConstructorParameters<typeof FakeHub>[0];
    run?: (req: RunRequest) => Promise<RunResponse>;
    serveKeys?: string[];
  } = {},
): Harness {
  const hub = new FakeHub(opts.hub ?? { secret: SECRET, host: HOST });
  const logs: string[] = [];
  const runs: RunRequest[] = [];
  const run = opts.run ?? streamingRunner(runs);
  const client = new TunnelClient({
    url: URL,
    secret: opts.secret ?? SECRET,
    hello: {
      sidecarId: "sc_test",
      name: "test",
      version: "0.0.0",
      maxConcurrent: 2,
      ...(opts.serveKeys === undefined ? {} : { serveKeys: opts.serveKeys }),
    },
    onRequest: (req) => void serve(req, run, (l) => logs.push(l)),
    log: (l) => logs.push(l),
    connect: hub.connect,
    random: () => 0.5,
  });
  clients.push(client);
  client.start();
  return { hub, client, logs, runs };
}

function body(value: unknown): ReadableStream<Uint8Array> {
  return new Response(JSON.stringify(value)).body as ReadableStream<Uint8Array>;
}

async function readText(stream: ReadableStream<Uint8Array>): Promise<string> {
  let out = "";
  for await (const chunk of stream) out += dec.decode(chunk, { stream: true });
  return out;
}

describe("connecting", () => {
  it("authenticates with its hello and serves a request through the runner, trailer included", async () => {
    const { hub, client, runs, logs } = start({ serveKeys: ["key_alice"] });
    const conn = await hub.ready();
    await until(() => client.ready);
    expect(conn.hello).toMatchObject({
      sidecarId: "sc_test",
      name: "test",
      maxConcurrent: 2,
      serveKeys: ["key_alice"],
    });
    expect(
      logs.some((l) =>
        /connected to wss:\/\/ccproxy.example\/tunnel as lk_fake_1 \(personal: key_alice/.test(l),
      ),
    ).toBe(true);

    const out = conn.link.open(
      HEAD,
      body({ model: "claude-sonnet-4-5", messages: [{ role: "user", content: "hi" }] }),
    );
    const response = await out.response;
    if (!response.ok) throw new Error(`no response: ${JSON.stringify(response.outcome)}`);
    expect(response.status).toBe(200);
    expect(response.headers).toEqual([["content-type", "text/event-stream"]]);
    expect(await readText(response.body)).toBe("event: a\n\nevent: b\n\n");
    expect(await out.outcome).toEqual({
      kind: "end",
      trailer: {
        usage: {
          input_tokens: 3,
          output_tokens: 4,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
        },
        costUsd: 0.002,
        model: "claude-sonnet-4-5",
        outcome: "complete",
        numTurns: 1,
        sessionId: "sess_1",
      },
    });
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      format: "anthropic",
      keyId: "key_alice",
      keyName: "alice",
      requestId: "req_1",
      body: { model: "claude-sonnet-4-5", messages: [{ role: "user", content: "hi" }] },
    });
    expect(logs.join("\n")).not.toContain(SECRET);
  });

  it("reports what a run used after the Worker cancelled it, unless the Worker predates summaries", async () => {
    for (const noFeatures of [false, true]) {
      const { hub } = start({ hub: { secret: SECRET, host: HOST, noFeatures } });
      const conn = await hub.ready();
      expect(conn.hello.features).toContain("summary");
      const out = conn.link.open(HEAD, body({ messages: [] }));
      const response = await out.response;
      if (!response.ok) throw new Error("expected a response");
      out.cancel("client disconnected");
      for (let i = 0; i < 50; i++) await turn();
      const summaries = conn.texts.filter((t) => t.includes('"type":"summary"'));
      if (noFeatures) {
        // An older Worker would take an unknown frame for a protocol violation: none is sent.
        expect(summaries).toEqual([]);
      } else {
        expect(summaries).toHaveLength(1);
        expect(await out.trailer).toMatchObject({ costUsd: 0.002, model: "claude-sonnet-4-5" });
      }
    }
  });

  it("logs a wrong secret loudly and waits 5 minutes before dialing again", async () => {
    const { hub, logs, client } = start({ hub: { secret: `x${SECRET}`, host: HOST } });
    await until(() => logs.some((l) => /reconnecting in/.test(l)));
    expect(client.ready).toBe(false);
    expect(logs.some((l) => /TUNNEL_SECRET does not match/.test(l))).toBe(true);
    expect(logs.some((l) => l === "reconnecting in 5 min")).toBe(true);
    expect(logs.join("\n")).not.toContain(SECRET);
    await vi.advanceTimersByTimeAsync(RECONNECT.afterRejectMs - 1000);
    expect(hub.connections).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(2000);
    expect(hub.connections).toHaveLength(2);
  });

  it("serves nothing to a Worker that cannot prove it knows the secret", async () => {
    const { hub, logs, client, runs } = start({ hub: { secret: SECRET, host: HOST, forgeWelcome: true } });
    await until(() => logs.some((l) => /reconnecting in/.test(l)));
    expect(client.ready).toBe(false);
    expect(logs.some((l) => /refused the Worker at .*: wrong_secret/.test(l))).toBe(true);
    expect(hub.connections[0]?.client.closed).toBe(true);
    expect(runs).toHaveLength(0);
  });

  it("gives up a handshake the Worker never answers after 10 s, then retries with backoff", async () => {
    const { hub, logs } = start({ hub: { secret: SECRET, host: HOST, silent: true } });
    await turn();
    await vi.advanceTimersByTimeAsync(10_000);
    await until(() => logs.some((l) => /did not finish the handshake/.test(l)));
    expect(hub.connections[0]?.client.closed).toBe(true);
    // attempt 0 with random 0.5: 375 ms.
    await vi.advanceTimersByTimeAsync(400);
    expect(hub.connections).toHaveLength(2);
  });
});

describe("keeping the link", () => {
  it("pings every 25 s with the fixed keep-alive and reconnects after 70 s without a word", async () => {
    const { hub, logs, client } = start();
    const conn = await hub.ready();
    await until(() => client.ready);
    await vi.advanceTimersByTimeAsync(KEEPALIVE_INTERVAL_MS * 3);
    expect(conn.texts.filter((t) => t === KEEPALIVE_PING)).toHaveLength(3);
    hub.muted = true;
    await vi.advanceTimersByTimeAsync(PEER_TIMEOUT_MS + KEEPALIVE_INTERVAL_MS);
    await until(() => conn.client.closed);
    expect(logs.some((l) => /no word from the Worker/.test(l))).toBe(true);
    await vi.advanceTimersByTimeAsync(1000);
    expect(hub.connections.length).toBeGreaterThanOrEqual(2);
  });

  it("aborts the runs of a dropped link and reconnects", async () => {
    let signal: AbortSignal | null = null;
    const { hub, logs } = start({
      run: async (req) => {
        signal = req.signal;
        return {
          status: 200,
          headers: { "content-type": "text/event-stream" },
          body: new ReadableStream({ pull: () => new Promise(() => {}) }),
          done: new Promise(() => {}),
        };
      },
    });
    const conn = await hub.ready();
    const out = conn.link.open(HEAD, body({ messages: [] }));
    await out.response;
    expect(signal).not.toBeNull();
    conn.server.close(1006, "network");
    await until(() => (signal as AbortSignal | null)?.aborted === true);
    expect(
      logs.some((l) =>
        /disconnected from the Worker \(1006 network\); 1 running request\(s\) aborted/.test(l),
      ),
    ).toBe(true);
    await vi.advanceTimersByTimeAsync(1000);
    await hub.ready();
    expect(hub.connections).toHaveLength(2);
  });

  it("after being replaced by another process with the same id, waits 5 minutes", async () => {
    const { hub, logs, client } = start();
    const conn = await hub.ready();
    await until(() => client.ready);
    conn.server.close(CLOSE_CODES.replaced, "replaced by a newer connection");
    await until(() => logs.some((l) => /reconnecting in/.test(l)));
    expect(logs.some((l) => /same id took over/.test(l))).toBe(true);
    expect(logs.at(-1)).toBe("reconnecting in 5 min");
  });
});

describe("shutting down", () => {
  it("drain: sends drain, lets the running request finish, then closes without reconnecting", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const { hub, client } = start({
      run: async () => ({
        status: 200,
        headers: { "content-type": "text/plain" },
        body: new ReadableStream({
          async pull(c) {
            await gate;
            c.enqueue(enc.encode("done"));
            c.close();
          },
        }),
        done: gate.then(() => ({
          usage: {
            input_tokens: 0,
            output_tokens: 0,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
          },
          costUsd: null,
          model: null,
          outcome: "complete" as const,
        })),
      }),
    });
    const conn = await hub.ready();
    const out = conn.link.open(HEAD, body({}));
    const response = await out.response;
    let drained = false;
    const draining = client.drain().then(() => {
      drained = true;
    });
    await until(() => conn.link.draining);
    const frames = conn.client.sent.filter((m) => typeof m === "string").map((m) => decodeFrame(m));
    expect(frames.some((f) => f.ok && f.frame.type === "drain")).toBe(true);
    // A new request crossing the drain is refused as unavailable (the Worker retries elsewhere).
    for (let i = 0; i < 20; i++) await turn();
    expect(drained).toBe(false);
    release();
    if (!response.ok) throw new Error("no response");
    expect(await readText(response.body)).toBe("done");
    await draining;
    await client.close();
    expect(conn.client.closed).toBe(true);
    await vi.advanceTimersByTimeAsync(RECONNECT.afterRejectMs);
    expect(hub.connections).toHaveLength(1);
  });
});

describe("goaway", () => {
  it("finishes the running request, then closes and dials a new connection", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const { hub, client } = start({
      run: async () => ({
        status: 200,
        headers: { "content-type": "text/plain" },
        body: new ReadableStream({
          async pull(c) {
            await gate;
            c.enqueue(enc.encode("ok"));
            c.close();
          },
        }),
        done: gate.then(() => ({
          usage: {
            input_tokens: 0,
            output_tokens: 0,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
          },
          costUsd: null,
          model: null,
          outcome: "complete" as const,
        })),
      }),
    });
    const conn = await hub.ready();
    await until(() => client.ready);
    const out = conn.link.open(HEAD, body({}));
    const response = await out.response;
    conn.link.goaway({ reason: "deploying" });
    for (let i = 0; i < 20; i++) await turn();
    expect(conn.client.closed).toBe(false);
    release();
    if (!response.ok) throw new Error("no response");
    expect(await readText(response.body)).toBe("ok");
    await until(() => conn.client.closed);
    await vi.advanceTimersByTimeAsync(1000);
    await hub.ready();
    expect(hub.connections).toHaveLength(2);
  });
});
