// API mode as a client sees it: bytes, query, headers and errors reach the Anthropic API unchanged,
// the answer comes back unchanged, and nothing outside clean /v1/ paths is ever forwarded.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SseParser } from "../../src/shared/sse/decode.ts";
import worker from "../../src/worker/index.ts";
import {
  BASE,
  call,
  ledgerRow,
  messageBody,
  newKey,
  type Recorded,
  TEAM_KEY,
  upstreamSaw,
} from "./helpers.ts";

async function keyHeaders(extra: Record<string, string> = {}) {
  const k = await newKey();
  return { "x-api-key": k.key, "content-type": "application/json", ...extra };
}

/** Every request the mock upstream received whose headers or body carry `marker`, whatever its path. */
async function upstreamCarrying(marker: string): Promise<Recorded[]> {
  const res = await fetch(`${env.ANTHROPIC_BASE_URL}/_mock/requests`);
  return ((await res.json()) as Recorded[]).filter(
    (r) => r.body.includes(marker) || Object.values(r.headers).some((v) => v.includes(marker)),
  );
}

/** `total` bytes as a stream with no declared length (sent chunked). */
function unsizedBody(total: number, chunk = 64 * 1024): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(c) {
      if (sent >= total) return c.close();
      const n = Math.min(chunk, total - sent);
      sent += n;
      c.enqueue(new Uint8Array(n).fill(0x78));
    },
  });
}

/** Polls (up to ~3 s) until the mock's record of the request with this test id satisfies `done`. */
async function recordedOnce(testId: string, done: (r: Recorded) => boolean): Promise<Recorded | undefined> {
  for (let i = 0; i < 150; i++) {
    const [r] = await upstreamSaw(testId);
    if (r && done(r)) return r;
    await scheduler.wait(20);
  }
  return (await upstreamSaw(testId))[0];
}

describe("API mode passthrough", () => {
  it("sends upstream exactly the bytes the client sent, unknown fields and key order included", async () => {
    const testId = crypto.randomUUID();
    const raw =
      '{ "zeta_unknown": {"nested": [1, 2.50, "ü∑😀"]},\n  "model":"claude-sonnet-4-5", "max_tokens" : 16,' +
      '"messages":[{"role":"user","content":"héllo\\u0041"}], "metadata": {"user_id": null}, "temperature": 0 }';
    const res = await call("/api/v1/messages?beta=true", {
      method: "POST",
      headers: await keyHeaders({ "x-test-id": testId }),
      body: raw,
    });
    expect(res.status).toBe(200);
    const [seen] = await upstreamSaw(testId);
    expect(seen?.body).toBe(raw);
    expect(seen?.url).toBe("/v1/messages?beta=true");
    expect(seen?.method).toBe("POST");
  });

  it("forwards client headers and betas, strips network, cookie, proxy and auth headers", async () => {
    const testId = crypto.randomUUID();
    const headers = await keyHeaders({
      "x-test-id": testId,
      "anthropic-version": "2023-06-01",
      "anthropic-beta": "interleaved-thinking-2025-05-14,context-1m-2025-08-07",
      "user-agent": "claude-cli/2.1.331 (external, sdk-ts)",
      "x-stainless-retry-count": "0",
      "x-claude-code-session-id": "abc",
      // The key travels in x-api-key; this is a second credential the client happens to send.
      authorization: "Bearer sk-ant-client-own-credential",
      cookie: "session=secret",
      forwarded: "for=10.0.0.1",
      "x-real-ip": "10.0.0.1",
      "true-client-ip": "10.0.0.1",
      "x-forwarded-for": "10.0.0.1",
      "x-forwarded-host": "ccproxy.example",
      "cf-connecting-ip": "10.0.0.1",
      "proxy-authorization": "Basic dXNlcjpwYXNz",
      "x-ccproxy-debug": "1",
      "x-custom": "kept",
    });
    const res = await call("/api/v1/messages", {
      method: "POST",
      headers,
      body: JSON.stringify(messageBody()),
    });
    expect(res.status).toBe(200);
    const [seen] = await upstreamSaw(testId);
    const h = seen?.headers ?? {};
    expect(h["anthropic-version"]).toBe("2023-06-01");
    expect(h["anthropic-beta"]).toBe("interleaved-thinking-2025-05-14,context-1m-2025-08-07");
    expect(h["user-agent"]).toBe("claude-cli/2.1.331 (external, sdk-ts)");
    expect(h["x-stainless-retry-count"]).toBe("0");
    expect(h["x-claude-code-session-id"]).toBe("abc");
    expect(h["x-custom"]).toBe("kept");
    for (const gone of [
      "cookie",
      "forwarded",
      "x-real-ip",
      "true-client-ip",
      "x-forwarded-for",
      "x-forwarded-host",
      "cf-connecting-ip",
      "proxy-authorization",
      "x-ccproxy-debug",
      "authorization",
    ]) {
      expect(h[gone], gone).toBeUndefined();
    }
    expect(h["x-api-key"]).toBe(TEAM_KEY);
    expect(JSON.stringify(h)).not.toContain("sk-ant-client-own-credential");
  });

  it("the upstream sees its own Host, whatever Host the client sent", async () => {
    const testId = crypto.randomUUID();
    const res = await call("/api/v1/messages", {
      method: "POST",
      headers: await keyHeaders({ "x-test-id": testId, host: "evil.example" }),
      body: JSON.stringify(messageBody()),
    });
    expect(res.status).toBe(200);
    const [seen] = await upstreamSaw(testId);
    expect(seen?.headers.host).toBe(new URL(env.ANTHROPIC_BASE_URL).host);
  });

  it("returns the upstream's status, headers and body, with our request id alongside", async () => {
    const res = await call("/api/v1/messages", {
      method: "POST",
      headers: await keyHeaders(),
      body: JSON.stringify(messageBody()),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("request-id")).toMatch(/^req_/);
    expect(res.headers.get("x-request-id")).toMatch(/^req_/);
    expect(res.headers.get("x-request-id")).not.toBe(res.headers.get("request-id"));
    expect(res.headers.get("anthropic-ratelimit-requests-limit")).not.toBeNull();
    const msg = (await res.json()) as { type: string; content: Array<{ type: string }> };
    expect(msg.type).toBe("message");
    expect(msg.content[0]?.type).toBe("text");
  });

  it("passes upstream errors through unchanged, retry-after included", async () => {
    for (const [status, type] of [
      [400, "invalid_request_error"],
      [404, "not_found_error"],
      [429, "rate_limit_error"],
      [500, "api_error"],
      [529, "overloaded_error"],
    ] as const) {
      const res = await call("/api/v1/messages", {
        method: "POST",
        headers: await keyHeaders({ "x-mock-scenario": `error status=${status} retry_after=7` }),
        body: JSON.stringify(messageBody()),
      });
      expect(res.status).toBe(status);
      const body = (await res.json()) as { type: string; error: { type: string }; request_id: string };
      expect(body.type).toBe("error");
      expect(body.error.type).toBe(type);
      expect(body.request_id).toBe(res.headers.get("request-id"));
      if (status === 429 || status === 529) expect(res.headers.get("retry-after")).toBe("7");
    }
  });

  it("passes the real validation errors of the API through", async () => {
    const res = await call("/api/v1/messages", {
      method: "POST",
      headers: await keyHeaders(),
      body: JSON.stringify({ model: "claude-sonnet-4-5", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/max_tokens/);
  });

  it("streams: an SSE answer arrives as the upstream sent it", async () => {
    const res = await call("/api/v1/messages", {
      method: "POST",
      headers: await keyHeaders(),
      body: JSON.stringify(messageBody({ stream: true })),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const text = await res.text();
    expect(text).toContain("event: message_start");
    expect(text).toContain("event: ping");
    expect(text.trimEnd().endsWith('data: {"type":"message_stop"}')).toBe(true);
  });

  it("serves the /claude/v1 alias and count_tokens under every prefix", async () => {
    const headers = await keyHeaders();
    const body = JSON.stringify({
      model: "claude-sonnet-4-5",
      messages: [{ role: "user", content: "hello" }],
    });
    expect(
      (await call("/claude/v1/messages", { method: "POST", headers, body: JSON.stringify(messageBody()) }))
        .status,
    ).toBe(200);
    for (const p of ["/api", "/claude", "", "/cc", "/sdk", "/claude/sdk"]) {
      const res = await call(`${p}/v1/messages/count_tokens`, { method: "POST", headers, body });
      expect(res.status, p).toBe(200);
      expect(((await res.json()) as { input_tokens: number }).input_tokens).toBeGreaterThan(0);
    }
  });

  it("passes any other /v1 path and method through: model details, files (binary), batches", async () => {
    const headers = await keyHeaders();
    const model = await call("/api/v1/models/claude-sonnet-4-5", { headers });
    expect(model.status).toBe(200);
    expect(((await model.json()) as { id: string }).id).toBe("claude-sonnet-4-5");

    const bytes = new Uint8Array(256).map((_, i) => i);
    const form = new FormData();
    form.append("file", new Blob([bytes], { type: "application/octet-stream" }), "all-bytes.bin");
    const { "content-type": _drop, ...authOnly } = headers;
    const upload = await call("/api/v1/files", { method: "POST", headers: authOnly, body: form });
    expect(upload.status).toBe(200);
    const file = (await upload.json()) as { id: string };
    const content = await call(`/api/v1/files/${file.id}/content`, { headers });
    expect(new Uint8Array(await content.arrayBuffer())).toEqual(bytes);
    expect((await call(`/api/v1/files/${file.id}`, { method: "DELETE", headers })).status).toBe(200);

    const batch = await call("/api/v1/messages/batches", {
      method: "POST",
      headers,
      body: JSON.stringify({ requests: [{ custom_id: "a", params: messageBody() }] }),
    });
    expect(batch.status).toBe(200);
  });

  it("refuses a batch naming a model outside the key's allowlist", async () => {
    const k = await newKey({ models: ["claude-haiku-*"] });
    const res = await call("/api/v1/messages/batches", {
      method: "POST",
      headers: { "x-api-key": k.key, "content-type": "application/json" },
      body: JSON.stringify({
        requests: [{ custom_id: "a", params: messageBody({ model: "claude-opus-4-5" }) }],
      }),
    });
    expect(res.status).toBe(403);
  });

  it("refuses paths that are not clean /v1/ paths, each with its exact status, and forwards none", async () => {
    // The Request constructor here resolves `..`, `%2e%2e` and backslashes as every WHATWG client
    // does; what arrives raw over the wire is tested against wrangler dev in test/e2e/streaming.test.ts.
    const marker = `marker-${crypto.randomUUID()}`;
    const headers = await keyHeaders({ "x-test-id": marker });
    const body = JSON.stringify(messageBody({ messages: [{ role: "user", content: marker }] }));
    const cases: Array<[string, number, string]> = [
      ["/api/v1/..%2f..%2fadmin/keys", 400, "invalid_request_error"],
      ["/api/v1/messages%2f..%2f..%2fx", 400, "invalid_request_error"],
      ["/api/v1/messages%2F..%2Fx", 400, "invalid_request_error"],
      ["/api/v1/a%5cb", 400, "invalid_request_error"],
      ["/api/v1//messages", 400, "invalid_request_error"],
      ["/api//evil.example/v1/messages", 400, "invalid_request_error"],
      ["/api/v1/messages%00", 400, "invalid_request_error"],
      ["/api/v1/%252e%252e/x", 404, "not_found_error"],
      ["/api/v2/messages", 404, "not_found_error"],
      ["/api/messages", 404, "not_found_error"],
    ];
    for (const [path, status, type] of cases) {
      const res = await call(path, { method: "POST", headers, body });
      expect(res.status, path).toBe(status);
      const json = (await res.json()) as { type: string; error: { type: string } };
      expect(json.type, path).toBe("error");
      expect(json.error.type, path).toBe(type);
    }
    expect(await upstreamCarrying(marker)).toEqual([]);
  });

  it("aborts the upstream request when the client leaves before the first byte", async () => {
    // Through the Worker's real entrypoint: the runtime sees its caller go away, fires the incoming
    // request's signal, and CCProxy must turn that into an abort of its own upstream fetch (workerd
    // does not pass the incoming signal itself on to subrequests).
    const testId = crypto.randomUUID();
    const ctrl = new AbortController();
    const pending = exports.default.fetch(
      new Request(`${BASE}/api/v1/messages`, {
        method: "POST",
        headers: await keyHeaders({ "x-test-id": testId, "x-mock-scenario": "text ttfb=3000" }),
        body: JSON.stringify(messageBody({ stream: true })),
        signal: ctrl.signal,
      }),
    );
    expect(await recordedOnce(testId, () => true)).toBeDefined();
    const abortedAt = Date.now();
    ctrl.abort();
    await pending.catch(() => undefined);
    const seen = await recordedOnce(testId, (r) => r.clientClosedEarly);
    expect(seen?.clientClosedEarly).toBe(true);
    // Well before the 3 s the upstream would have taken to answer.
    expect(Date.now() - abortedAt).toBeLessThan(2000);
  });

  it("an upstream that drops mid-stream ends the stream with an error event, not a reset", async () => {
    const res = await call("/api/v1/messages", {
      method: "POST",
      headers: await keyHeaders({ "x-mock-scenario": "drop after=3" }),
      body: JSON.stringify(messageBody({ stream: true })),
    });
    expect(res.status).toBe(200);
    const text = await res.text(); // a reset would make this throw
    const events = new SseParser().push(text);
    expect(events.map((e) => e.event)).toEqual(["message_start", "content_block_start", "ping", "error"]);
    const error = JSON.parse(events.at(-1)?.data ?? "{}") as {
      type: string;
      error: { type: string; message: string };
    };
    expect(error.type).toBe("error");
    expect(error.error.type).toBe("api_error");
    expect(error.error.message).toMatch(/upstream connection .* lost/);
    expect(text.endsWith("\n\n")).toBe(true);
    const row = await ledgerRow(res.headers.get("x-request-id"));
    expect(row.outcome).toBe("error");
  });

  it("an upstream that drops before its first event still ends cleanly, with just the error event", async () => {
    const res = await call("/api/v1/messages", {
      method: "POST",
      headers: await keyHeaders({ "x-mock-scenario": "drop after=0" }),
      body: JSON.stringify(messageBody({ stream: true })),
    });
    expect(res.status).toBe(200);
    const events = new SseParser().push(await res.text());
    expect(events.map((e) => e.event)).toEqual(["error"]);
  });

  it("a non-streaming request whose upstream drops: 502 api_error, and the ledger records an error", async () => {
    const res = await call("/api/v1/messages", {
      method: "POST",
      headers: await keyHeaders({ "x-mock-scenario": "drop" }),
      body: JSON.stringify(messageBody()),
    });
    expect(res.status).toBe(502);
    const body = (await res.json()) as { error: { type: string } };
    expect(body.error.type).toBe("api_error");
    const row = await ledgerRow(res.headers.get("x-request-id"));
    expect(row.outcome).toBe("error");
    expect(row.status).toBe(502);
  });

  it("answers 502 in Anthropic format when the upstream cannot be reached", async () => {
    const k = await newKey();
    const req = new Request(`${BASE}/api/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": k.key, "content-type": "application/json" },
      body: JSON.stringify(messageBody()),
    });
    const res = await worker.fetch(req, { ...env, ANTHROPIC_BASE_URL: "http://127.0.0.1:1" }, {
      waitUntil() {},
      passThroughOnException() {},
      props: {},
    } as unknown as ExecutionContext);
    expect(res.status).toBe(502);
    const body = (await res.json()) as { type: string; error: { type: string; message: string } };
    expect(body.error.type).toBe("api_error");
    expect(body.error.message).not.toContain("127.0.0.1");
  });
});

describe("errors of CCProxy's own", () => {
  it("404 and 405 in Anthropic format with request ids", async () => {
    const nf = await call("/nope");
    expect(nf.status).toBe(404);
    expect(((await nf.json()) as { error: { type: string } }).error.type).toBe("not_found_error");
    expect(nf.headers.get("request-id")).toMatch(/^req_/);

    const na = await call("/v1/messages", { method: "GET" });
    expect(na.status).toBe(405);
    expect(na.headers.get("allow")).toBe("POST");
    expect(((await na.json()) as { type: string }).type).toBe("error");
  });

  it("405 in OpenAI format on chat completions", async () => {
    const res = await call("/v1/chat/completions", { method: "GET" });
    expect(res.status).toBe(405);
    const body = (await res.json()) as { error: { code: string } };
    expect(body.error.code).toBe("method_not_allowed");
  });

  it("413 over the configured body limit, before anything goes upstream", async () => {
    const testId = crypto.randomUUID();
    const big = JSON.stringify(messageBody({ padding: "x".repeat(1024 * 1024) }));
    const res = await call("/api/v1/messages", {
      method: "POST",
      headers: await keyHeaders({ "x-test-id": testId }),
      body: big,
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe("request_too_large");
    expect(await upstreamSaw(testId)).toEqual([]);
  });

  it("413 for a body with no declared length past the limit: the upstream never gets a cut-off request", async () => {
    // 2 MiB against the test limit of 1 MiB, in chunks with no content-length: the generic passthrough
    // streams it on and must abort its upstream request at the limit; the JSON routes read it first.
    for (const path of [
      "/api/v1/files",
      "/api/v1/messages",
      "/api/v1/messages/batches",
      "/v1/messages/count_tokens",
    ]) {
      const testId = crypto.randomUUID();
      const res = await call(path, {
        method: "POST",
        headers: await keyHeaders({ "x-test-id": testId, "content-type": "application/octet-stream" }),
        body: unsizedBody(2 * 1024 * 1024),
        duplex: "half",
      } as RequestInit);
      expect(res.status, path).toBe(413);
      const json = (await res.json()) as { error: { type: string } };
      expect(json.error.type, path).toBe("request_too_large");
      await scheduler.wait(200);
      // Nothing arrived, or only a request the abort cut off (never a complete one the upstream answered).
      for (const r of await upstreamSaw(testId)) {
        expect(r.clientClosedEarly, path).toBe(true);
        expect(r.status, path).toBeUndefined();
      }
    }
  });

  it("400 for a body that is not JSON, or not an object", async () => {
    for (const body of ["{oops", "[1,2]", "", "null"]) {
      const res = await call("/api/v1/messages", { method: "POST", headers: await keyHeaders(), body });
      expect(res.status, body).toBe(400);
      expect(((await res.json()) as { error: { type: string } }).error.type).toBe("invalid_request_error");
    }
  });

  it("/health needs no key and reveals no secret", async () => {
    const res = await call("/health");
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({ status: "ok", upstream_configured: true, sidecars: 0 });
    expect(text).not.toContain("sk-ant");
    expect(text).not.toContain("test-admin-token");
  });
});
