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

  it("records a stream the client abandoned with at least the output it had received, flagged estimated", async () => {
    const k = await newKey();
    const res = await post("/api/v1/messages", k.key, messageBody({ stream: true }), {
      "x-mock-scenario": "long count=200 delay=20",
    });
    const reader = res.body?.getReader();
    let received = "";
    while ((received.match(/"text_delta"/g) ?? []).length < 10) {
      const chunk = await reader?.read();
      if (!chunk || chunk.done) break;
      received += new TextDecoder().decode(chunk.value);
    }
    await reader?.cancel();
    const deltas = [...received.matchAll(/"text_delta","text":"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1] ?? "");
    expect(deltas.length).toBeGreaterThanOrEqual(10);
    const row = await ledgerRow(res.headers.get("x-request-id"));
    expect(row.outcome).toBe("aborted");
    expect(row.input_tokens).toBeGreaterThan(0);
    expect(row.stream).toBe(1);
    // No final message_delta came: message_start said output_tokens 1. The row says at least a token
    // per delta received, and at least the API's own ~4 characters per token.
    expect(row.output_tokens).toBeGreaterThanOrEqual(deltas.length);
    expect(row.output_tokens).toBeGreaterThanOrEqual(Math.ceil(deltas.join("").length / 4));
    expect(row.usage_estimated).toBe(1);
    expect(row.cost_usd).toBeGreaterThan(0);
  });

  it("records a stream the upstream broke off as connection_lost, and one that ended in an error event", async () => {
    const k = await newKey();
    // The mock echoes the user's words, then breaks the connection after 12 events.
    const words = messageBody({ stream: true, messages: [{ role: "user", content: "word ".repeat(200) }] });
    const dropped = await post("/api/v1/messages", k.key, words, { "x-mock-scenario": "drop after=12" });
    const text = await dropped.text().catch(() => "");
    const droppedRow = await ledgerRow(dropped.headers.get("x-request-id"));
    expect(droppedRow).toMatchObject({ outcome: "error", error_type: "connection_lost", usage_estimated: 1 });
    expect(droppedRow.output_tokens).toBeGreaterThanOrEqual((text.match(/"text_delta"/g) ?? []).length);
    expect(droppedRow.output_tokens).toBeGreaterThan(1);

    const failed = await post("/api/v1/messages", k.key, messageBody({ stream: true }), {
      "x-mock-scenario": "midstream_error",
    });
    await failed.text();
    const row = await ledgerRow(failed.headers.get("x-request-id"));
    expect(row.error_type).toBe("overloaded_error");
    expect(row.input_tokens).toBeGreaterThan(0);
    expect(row.usage_estimated).toBe(1);
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

  it("records the status an OpenAI client got: an upstream 529 is served and recorded as 503", async () => {
    const k = await newKey();
    const res = await post(
      "/api/v1/chat/completions",
      k.key,
      { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] },
      { "x-mock-scenario": "error status=529" },
    );
    expect(res.status).toBe(503);
    await res.text();
    expect(await ledgerRow(res.headers.get("x-request-id"))).toMatchObject({
      format: "openai",
      status: 503,
      error_type: "overloaded_error",
    });
  });

  it("one row per request served: every way a request can end, in both formats, refusals included", async () => {
    const k = await newKey({ models: ["claude-sonnet-*", "claude-haiku-*"] });
    const served: Array<{ id: string | null; outcome: string; format: string; status: number }> = [];
    const note = (res: Response, outcome: string, format = "anthropic") =>
      served.push({ id: res.headers.get("x-request-id"), outcome, format, status: res.status });
    const anthropic = (extra: Record<string, unknown>, scenario?: string) =>
      post("/api/v1/messages", k.key, messageBody(extra), scenario ? { "x-mock-scenario": scenario } : {});
    const openai = (extra: Record<string, unknown>, scenario?: string) =>
      post(
        "/api/v1/chat/completions",
        k.key,
        { model: "claude-haiku-4-5", messages: [{ role: "user", content: "hi" }], ...extra },
        scenario ? { "x-mock-scenario": scenario } : {},
      );
    const abandon = async (res: Response) => {
      const reader = res.body?.getReader();
      await reader?.read();
      await reader?.read();
      await reader?.cancel();
    };

    for (const stream of [false, true]) {
      const ok = await anthropic({ stream });
      await ok.text();
      note(ok, "complete");
      const upstreamError = await anthropic({ stream }, "error status=500");
      await upstreamError.text();
      note(upstreamError, "complete");
      const ook = await openai({ stream });
      await ook.text();
      note(ook, "complete", "openai");
      const oerr = await openai({ stream }, "error status=529");
      await oerr.text();
      note(oerr, "complete", "openai");
    }
    const aborted = await anthropic({ stream: true }, "long count=200 delay=20");
    await abandon(aborted);
    note(aborted, "aborted");
    const oaborted = await openai({ stream: true }, "long count=200 delay=20");
    await abandon(oaborted);
    note(oaborted, "aborted", "openai");
    const midstream = await anthropic({ stream: true }, "midstream_error");
    await midstream.text();
    note(midstream, "complete");
    const dropped = await anthropic({ stream: true }, "drop after=4");
    await dropped.text().catch(() => "");
    note(dropped, "error");
    const count = await post("/v1/messages/count_tokens", k.key, {
      model: "claude-sonnet-4-5",
      messages: [{ role: "user", content: "x" }],
    });
    await count.text();
    note(count, "complete");
    // Refused by CCProxy itself (a model outside the allowlist), in each format.
    const refused = await anthropic({ model: "claude-opus-4-5" });
    await refused.text();
    note(refused, "refused");
    const orefused = await openai({ model: "claude-opus-4-5" });
    await orefused.text();
    note(orefused, "refused", "openai");
    // Not a request with a key: no key to record it under (and nothing was spent).
    expect((await post("/api/v1/messages", "ccp_not-a-key", messageBody())).status).toBe(401);

    for (const s of served) await ledgerRow(s.id);
    const rows = await ledgerRowsForKey(k.id);
    expect(rows).toHaveLength(served.length);
    const byId = new Map(rows.map((r) => [r.request_id, r]));
    for (const s of served) {
      expect(byId.get(s.id ?? ""), JSON.stringify(s)).toMatchObject({
        outcome: s.outcome,
        format: s.format,
        status: s.status,
      });
    }
  });
});
