// The OpenAI chat completions route of API mode inside workerd, against the mock upstream: its
// aliases, what reaches the upstream, cancel on disconnect, the OpenAI error shapes for every way a
// request fails (before and after the first byte), and the upstream's headers in OpenAI's names.
import { describe, expect, it } from "vitest";
import { call, newKey, type Recorded, upstreamSaw } from "./helpers.ts";

interface OpenAIError {
  error: { message: string; type: string; param: string | null; code: string | null };
}

async function headers(extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const { key } = await newKey();
  return { authorization: `Bearer ${key}`, "content-type": "application/json", ...extra };
}

const chat = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "Say hello" }], ...extra });

/** Polls (up to ~3 s) until the mock's record of the request with this test id satisfies `done`. */
async function recorded(testId: string, done: (r: Recorded) => boolean): Promise<Recorded | undefined> {
  for (let i = 0; i < 150; i++) {
    const [r] = await upstreamSaw(testId);
    if (r && done(r)) return r;
    await scheduler.wait(20);
  }
  return (await upstreamSaw(testId))[0];
}

/** The `data:` payloads of an OpenAI SSE body, `[DONE]` included. */
function dataLines(text: string): string[] {
  return text
    .split("\n")
    .filter((l) => l.startsWith("data: "))
    .map((l) => l.slice(6));
}

describe("POST /v1/chat/completions (API mode)", () => {
  it("answers under /api and the older /claude prefix alike", async () => {
    for (const path of ["/api/v1/chat/completions", "/claude/v1/chat/completions"]) {
      const res = await call(path, { method: "POST", headers: await headers(), body: chat() });
      expect(res.status, path).toBe(200);
      const body = (await res.json()) as { object: string; model: string; choices: unknown[] };
      expect(body).toMatchObject({ object: "chat.completion", model: "gpt-4o" });
      expect(body.choices).toHaveLength(1);
    }
  });

  it("passes the client's anthropic-beta and anthropic-version on to the upstream", async () => {
    const testId = crypto.randomUUID();
    const res = await call("/api/v1/chat/completions", {
      method: "POST",
      headers: await headers({
        "x-test-id": testId,
        "anthropic-beta": "context-1m-2025-08-07,interleaved-thinking-2025-05-14",
        "anthropic-version": "2023-06-01",
      }),
      body: chat(),
    });
    expect(res.status).toBe(200);
    const [seen] = await upstreamSaw(testId);
    expect(seen?.headers["anthropic-beta"]).toBe("context-1m-2025-08-07,interleaved-thinking-2025-05-14");
    expect(seen?.headers["anthropic-version"]).toBe("2023-06-01");
    expect(seen?.url).toBe("/v1/messages");
  });

  it("gives the upstream's rate limits as x-ratelimit-* and its request id beside CCProxy's own", async () => {
    for (const stream of [false, true]) {
      const res = await call("/api/v1/chat/completions", {
        method: "POST",
        headers: await headers(),
        body: chat({ stream }),
      });
      await res.text();
      const h = res.headers;
      expect(h.get("x-ratelimit-limit-requests"), `stream ${stream}`).toBe("4000");
      expect(h.get("x-ratelimit-remaining-requests")).toBe("3999");
      expect(h.get("x-ratelimit-reset-requests")).toMatch(/^(\d+ms|[12]s)$/);
      expect(h.get("x-ratelimit-limit-tokens")).toBe("2400000");
      expect(h.get("anthropic-ratelimit-input-tokens-limit")).toBe("2000000");
      expect(h.get("anthropic-request-id")).toMatch(/^req_011C/);
      // x-request-id stays CCProxy's: the id of the ledger row (the OpenAI SDK reports it).
      expect(h.get("x-request-id")).toMatch(/^req_/);
      expect(h.get("x-request-id")).not.toBe(h.get("anthropic-request-id"));
    }
  });

  it("cancels the upstream request when the client leaves mid-stream", async () => {
    const testId = crypto.randomUUID();
    const res = await call("/api/v1/chat/completions", {
      method: "POST",
      headers: await headers({ "x-test-id": testId, "x-mock-scenario": "long count=200 delay=50" }),
      body: chat({ stream: true }),
    });
    expect(res.status).toBe(200);
    const reader = res.body?.getReader();
    const first = await reader?.read();
    expect(new TextDecoder().decode(first?.value)).toContain('"role":"assistant"');
    await reader?.cancel("client went away");
    const seen = await recorded(testId, (r) => r.clientClosedEarly);
    expect(seen?.clientClosedEarly).toBe(true);
  });

  it("413 in OpenAI's shape for a body over the limit, and nothing goes upstream", async () => {
    const testId = crypto.randomUUID();
    const res = await call("/api/v1/chat/completions", {
      method: "POST",
      headers: await headers({ "x-test-id": testId }),
      body: chat({ messages: [{ role: "user", content: "x".repeat(1024 * 1024 + 10) }] }),
    });
    expect(res.status).toBe(413);
    const body = (await res.json()) as OpenAIError;
    expect(body.error).toMatchObject({
      type: "invalid_request_error",
      code: "request_too_large",
      param: null,
    });
    expect(typeof body.error.message).toBe("string");
    expect(await upstreamSaw(testId)).toEqual([]);
  });

  it.each([
    [403, 403, "permission_error", "permission_denied", null],
    [404, 404, "invalid_request_error", "not_found", null],
    [429, 429, "rate_limit_error", "rate_limit_exceeded", "7"],
    [500, 500, "server_error", null, null],
    [529, 503, "overloaded_error", "overloaded", "7"],
  ])(
    "an upstream %i becomes %i with type %s, code %s, retry-after kept",
    async (upstream, status, type, code, retry) => {
      const scenario = `error status=${upstream}${retry === null ? "" : ` retry_after=${retry}`}`;
      for (const stream of [false, true]) {
        const res = await call("/api/v1/chat/completions", {
          method: "POST",
          headers: await headers({ "x-mock-scenario": scenario }),
          body: chat({ stream }),
        });
        expect(res.status, `stream ${stream}`).toBe(status);
        expect(res.headers.get("content-type")).toBe("application/json");
        expect(res.headers.get("retry-after")).toBe(retry);
        const body = (await res.json()) as OpenAIError;
        expect(body.error).toMatchObject({ type, code, param: null });
        expect(body.error.message.length).toBeGreaterThan(0);
      }
    },
  );

  it("an upstream that drops mid-stream: the text so far, an error chunk, then the stream ends", async () => {
    const res = await call("/api/v1/chat/completions", {
      method: "POST",
      headers: await headers({ "x-mock-scenario": "drop after=5" }),
      body: chat({ stream: true, stream_options: { include_usage: true } }),
    });
    expect(res.status).toBe(200);
    const text = await res.text(); // a reset connection would make this throw
    const data = dataLines(text);
    expect(data).not.toContain("[DONE]");
    const chunks = data.map((d) => JSON.parse(d) as Record<string, unknown>);
    expect(chunks[0]).toMatchObject({ object: "chat.completion.chunk" });
    const last = chunks.at(-1) as unknown as OpenAIError;
    expect(last.error).toMatchObject({ type: "server_error", param: null });
    expect(last.error.message).toMatch(/upstream connection .*lost/i);
    expect(chunks.filter((c) => "error" in c)).toHaveLength(1);
    expect(text.endsWith("\n\n")).toBe(true);
  });

  it("an upstream error event mid-stream: an error chunk with its type, no [DONE]", async () => {
    const res = await call("/api/v1/chat/completions", {
      method: "POST",
      headers: await headers({ "x-mock-scenario": "midstream_error after=2" }),
      body: chat({ stream: true }),
    });
    const data = dataLines(await res.text());
    expect(data).not.toContain("[DONE]");
    expect(JSON.parse(data.at(-1) ?? "{}")).toEqual({
      error: { message: "Overloaded", type: "overloaded_error", param: null, code: "overloaded" },
    });
  });
});
