// The usage ledger: one row per request served, with the usage the upstream reported, whatever the
// route's format and however the response ended.
import { describe, expect, it } from "vitest";
import { call, ledgerRow, ledgerRowsForKey, messageBody, newKey } from "./helpers.ts";

function post(path: string, key: string, body: unknown, headers: Record<string, string> = {}) {
  return call(path, {
    method: "POST",
    headers: { "x-api-key": key, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

describe("usage ledger", () => {
  it("records a non-streamed message with the tokens and cost the upstream reported", async () => {
    const k = await newKey();
    const res = await post("/api/v1/messages", k.key, messageBody({ model: "claude-haiku-4-5" }), {
      "x-mock-scenario": "text cache read=1000 write=200",
    });
    const msg = (await res.json()) as { usage: { input_tokens: number; output_tokens: number } };
    const row = await ledgerRow(res.headers.get("x-request-id"));
    expect(row).toMatchObject({
      key_id: k.id,
      mode: "api",
      route: "POST /api/v1/messages",
      format: "anthropic",
      model_requested: "claude-haiku-4-5",
      model_upstream: "claude-haiku-4-5",
      status: 200,
      stream: 0,
      input_tokens: msg.usage.input_tokens,
      output_tokens: msg.usage.output_tokens,
      cache_read_input_tokens: 1000,
      cache_creation_input_tokens: 200,
      outcome: "complete",
      error_type: null,
    });
    const expected =
      (msg.usage.input_tokens * 1 + 200 * 1.25 + 1000 * 0.1 + msg.usage.output_tokens * 5) / 1_000_000;
    expect(row.cost_usd).toBeCloseTo(expected, 12);
    expect(row.duration_ms).toBeGreaterThanOrEqual(0);
    expect(row.ttfb_ms).not.toBeNull();
  });

  it("records a stream from message_start and the last message_delta", async () => {
    const k = await newKey();
    const res = await post("/api/v1/messages", k.key, messageBody({ stream: true }));
    const text = await res.text();
    const deltas = [...text.matchAll(/"output_tokens":(\d+)/g)].map((m) => Number(m[1]));
    const row = await ledgerRow(res.headers.get("x-request-id"));
    expect(row.stream).toBe(1);
    expect(row.output_tokens).toBe(deltas.at(-1));
    expect(row.input_tokens).toBeGreaterThan(0);
    expect(row.outcome).toBe("complete");
  });

  it("records a stream the client abandoned, with what was used up to then", async () => {
    const k = await newKey();
    const res = await post("/api/v1/messages", k.key, messageBody({ stream: true }), {
      "x-mock-scenario": "long count=200 delay=20",
    });
    const reader = res.body?.getReader();
    await reader?.read();
    await reader?.read();
    await reader?.cancel();
    const row = await ledgerRow(res.headers.get("x-request-id"));
    expect(row.outcome).toBe("aborted");
    expect(row.input_tokens).toBeGreaterThan(0);
    expect(row.stream).toBe(1);
  });

  it("records a stream the upstream broke off, and one that ended in an error event", async () => {
    const k = await newKey();
    const dropped = await post("/api/v1/messages", k.key, messageBody({ stream: true }), {
      "x-mock-scenario": "drop after=4",
    });
    await dropped.text().catch(() => "");
    expect((await ledgerRow(dropped.headers.get("x-request-id"))).outcome).toMatch(/error|complete/);

    const failed = await post("/api/v1/messages", k.key, messageBody({ stream: true }), {
      "x-mock-scenario": "midstream_error",
    });
    await failed.text();
    const row = await ledgerRow(failed.headers.get("x-request-id"));
    expect(row.error_type).toBe("overloaded_error");
    expect(row.input_tokens).toBeGreaterThan(0);
  });

  it("records upstream errors and CCProxy's own refusals", async () => {
    const k = await newKey({ models: ["claude-haiku-*"] });
    const limited = await post("/api/v1/messages", k.key, messageBody({ model: "claude-haiku-4-5" }), {
      "x-mock-scenario": "error status=429",
    });
    expect(limited.status).toBe(429);
    await limited.text();
    expect(await ledgerRow(limited.headers.get("x-request-id"))).toMatchObject({
      status: 429,
      error_type: "rate_limit_error",
      cost_usd: 0,
      outcome: "complete",
    });
    const refused = await post("/api/v1/messages", k.key, messageBody({ model: "claude-opus-4-5" }));
    expect(refused.status).toBe(403);
    await refused.text();
    expect(await ledgerRow(refused.headers.get("x-request-id"))).toMatchObject({
      status: 403,
      error_type: "permission_error",
      outcome: "refused",
    });
  });

  it("records OpenAI-format requests, streamed and not, under the name the client asked for", async () => {
    const k = await newKey();
    const plain = await post("/api/v1/chat/completions", k.key, {
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "hello" }],
    });
    const completion = (await plain.json()) as {
      usage: { prompt_tokens: number; completion_tokens: number };
    };
    const row = await ledgerRow(plain.headers.get("x-request-id"));
    expect(row).toMatchObject({ format: "openai", model_requested: "gpt-4o-mini", status: 200, stream: 0 });
    expect(row.model_upstream).toMatch(/^claude-/);
    expect(row.output_tokens).toBe(completion.usage.completion_tokens);

    const streamed = await post("/api/v1/chat/completions", k.key, {
      model: "gpt-4o-mini",
      stream: true,
      messages: [{ role: "user", content: "hello" }],
    });
    await streamed.text();
    const srow = await ledgerRow(streamed.headers.get("x-request-id"));
    expect(srow).toMatchObject({ format: "openai", stream: 1, outcome: "complete" });
    expect(srow.output_tokens).toBeGreaterThan(0);
  });

  it("writes exactly one row per request", async () => {
    const k = await newKey();
    const ids: Array<string | null> = [];
    for (const scenario of ["text", "error status=500", "midstream_error"]) {
      for (const stream of [false, true]) {
        const res = await post("/api/v1/messages", k.key, messageBody({ stream }), {
          "x-mock-scenario": scenario,
        });
        await res.text();
        ids.push(res.headers.get("x-request-id"));
      }
    }
    const count = await post("/v1/messages/count_tokens", k.key, {
      model: "claude-sonnet-4-5",
      messages: [{ role: "user", content: "x" }],
    });
    await count.text();
    ids.push(count.headers.get("x-request-id"));
    for (const id of ids) await ledgerRow(id);
    const rows = await ledgerRowsForKey(k.id);
    expect(rows.map((r) => r.request_id).sort()).toEqual([...ids].sort());
  });
});
