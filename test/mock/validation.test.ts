// What the API rejects, the mock rejects the same way: status, error.type and the API's wording;
// plus auth, unknown paths and methods, unknown models, oversize bodies and the response headers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MockServer, startMock } from "../../src/mock/server.ts";
import { type Json, post } from "./helpers.ts";

let mock: MockServer;
beforeAll(async () => {
  mock = await startMock({
    quiet: true,
    apiKeys: ["test", "other"],
    models: ["my-model"],
    maxBodyBytes: 64 * 1024,
  });
});
afterAll(() => mock.close());

const ok = { model: "my-model", max_tokens: 100, messages: [{ role: "user", content: "hi" }] };
const user = (content: unknown) => ({ ...ok, messages: [{ role: "user", content }] });

async function expectError(res: Response, status: number, type: string, message: string): Promise<void> {
  const body = (await res.json()) as { type: string; error: Json; request_id: string };
  expect(res.status).toBe(status);
  expect(body).toEqual({
    type: "error",
    error: { type, message },
    request_id: res.headers.get("request-id"),
  });
  expect(body.request_id).toMatch(/^req_011C[0-9A-Za-z]{20}$/);
}

const TAGS =
  "'text', 'image', 'document', 'search_result', 'thinking', 'redacted_thinking', 'tool_use', 'tool_result', " +
  "'server_tool_use', 'web_search_tool_result', 'web_fetch_tool_result', 'code_execution_tool_result', " +
  "'bash_code_execution_tool_result', 'text_editor_code_execution_tool_result', 'tool_search_tool_result', " +
  "'mcp_tool_use', 'mcp_tool_result', 'container_upload', 'compaction'";

describe("POST /v1/messages validation", () => {
  it.each<[string, unknown, string]>([
    [
      "invalid JSON",
      '{"model": "x",',
      "The request body is not valid JSON: unexpected end of data: line 1 column 15 (char 14)",
    ],
    ["empty body", "", "The request body is not valid JSON: expected value: line 1 column 1 (char 0)"],
    ["not an object", "[1]", "Input should be a valid dictionary"],
    ["missing model", { max_tokens: 1, messages: ok.messages }, "model: Field required"],
    ["model not a string", { ...ok, model: 3 }, "model: Input should be a valid string"],
    ["missing max_tokens", { model: "my-model", messages: ok.messages }, "max_tokens: Field required"],
    ["max_tokens not an integer", { ...ok, max_tokens: 1.5 }, "max_tokens: Input should be a valid integer"],
    ["max_tokens 0", { ...ok, max_tokens: 0 }, "max_tokens: Input should be greater than or equal to 1"],
    ["missing messages", { model: "my-model", max_tokens: 1 }, "messages: Field required"],
    ["empty messages", { ...ok, messages: [] }, "messages: at least one message is required"],
    [
      "bad role",
      { ...ok, messages: [{ role: "bot", content: "x" }] },
      "messages.0.role: Input should be 'user' or 'assistant'",
    ],
    [
      "empty content",
      user(""),
      "messages.0: all messages must have non-empty content except for the optional final assistant message",
    ],
    [
      "empty text block",
      user([{ type: "text", text: "" }]),
      "messages: text content blocks must be non-empty",
    ],
    [
      "unknown block type",
      user([{ type: "x" }]),
      `messages.0.content.0: Input tag 'x' found using 'type' does not match any of the expected tags: ${TAGS}`,
    ],
    [
      "block without type",
      user([{ text: "x" }]),
      "messages.0.content.0: Unable to extract tag using discriminator 'type'",
    ],
    [
      "thinking without signature",
      {
        ...ok,
        messages: [ok.messages[0], { role: "assistant", content: [{ type: "thinking", thinking: "hm" }] }],
      },
      "messages.1.content.0.thinking.signature: Field required",
    ],
    [
      "tool_use input not an object",
      {
        ...ok,
        messages: [
          ok.messages[0],
          { role: "assistant", content: [{ type: "tool_use", id: "t", name: "n", input: "x" }] },
        ],
      },
      "messages.1.content.0.tool_use.input: Input should be a valid dictionary",
    ],
    ["temperature > 1", { ...ok, temperature: 1.5 }, "temperature: Input should be less than or equal to 1"],
    [
      "temperature < 0",
      { ...ok, temperature: -0.1 },
      "temperature: Input should be greater than or equal to 0",
    ],
    ["stream not boolean", { ...ok, stream: "yes" }, "stream: Input should be a valid boolean"],
    [
      "budget below 1024",
      { ...ok, thinking: { type: "enabled", budget_tokens: 100 } },
      "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
    ],
    [
      "budget not below max_tokens",
      { ...ok, max_tokens: 2000, thinking: { type: "enabled", budget_tokens: 2000 } },
      "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size",
    ],
    [
      "budget thinking, and a tool loop whose assistant turn does not start with thinking",
      {
        ...ok,
        max_tokens: 4000,
        thinking: { type: "enabled", budget_tokens: 2000 },
        messages: [
          ok.messages[0],
          {
            role: "assistant",
            content: [{ type: "tool_use", id: "toolu_1", name: "get_weather", input: {} }],
          },
          { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "18°C" }] },
        ],
      },
      "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`. When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable `thinking`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking",
    ],
    [
      "thinking off, and thinking in a final assistant prefill",
      {
        ...ok,
        messages: [
          ok.messages[0],
          {
            role: "assistant",
            content: [
              { type: "text", text: "Let me see" },
              { type: "thinking", thinking: "hm", signature: "sig" },
            ],
          },
        ],
      },
      "messages.1.content.1: When thinking is disabled, an `assistant` message in the final position cannot contain `thinking`. To use thinking blocks, enable `thinking` in your request.",
    ],
    [
      "tool without name",
      { ...ok, tools: [{ input_schema: { type: "object" } }] },
      "tools.0.custom.name: Field required",
    ],
    [
      "tool with a bad name",
      { ...ok, tools: [{ name: "a.b", input_schema: { type: "object" } }] },
      "tools.0.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'",
    ],
    [
      "server tool without name",
      { ...ok, tools: [{ type: "web_search_20250305" }] },
      "tools.0.web_search_20250305.name: Field required",
    ],
    [
      "bad scenario",
      user("[[mock:nonsense]]"),
      expect.stringMatching(/^mock scenario: unknown scenario "nonsense"/) as unknown as string,
    ],
  ])("%s", async (_name, body, message) => {
    await expectError(
      await post(`${mock.url}/v1/messages`, body as Json),
      400,
      "invalid_request_error",
      message,
    );
  });

  it("accepts unknown fields, system turns with extra fields, and the final assistant prefill", async () => {
    const res = await post(`${mock.url}/v1/messages`, {
      ...ok,
      context_management: { edits: [] },
      output_config: { effort: "low" },
      brand_new_beta_field: { anything: true },
      messages: [
        { role: "user", content: [{ type: "text", text: "hi", cache_control: { type: "ephemeral" } }] },
        { role: "system", content: "env", output_config: {} },
        { role: "assistant", content: "" },
      ],
    });
    expect(res.status).toBe(200);
  });

  it("accepts a tool loop that brings its thinking back, one without thinking, and one under adaptive thinking", async () => {
    const call = { type: "tool_use", id: "toolu_1", name: "get_weather", input: {} };
    const result = {
      role: "user",
      content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "18°C" }],
    };
    const loop = (assistant: unknown[]) => [
      ok.messages[0],
      { role: "assistant", content: assistant },
      result,
    ];
    const signed = { type: "thinking", thinking: "Look it up.", signature: "sig" };
    for (const body of [
      {
        ...ok,
        max_tokens: 4000,
        thinking: { type: "enabled", budget_tokens: 2000 },
        messages: loop([signed, call]),
      },
      {
        ...ok,
        max_tokens: 4000,
        thinking: { type: "enabled", budget_tokens: 2000 },
        messages: loop([{ type: "redacted_thinking", data: "abc" }, call]),
      },
      { ...ok, messages: loop([call]) },
      { ...ok, thinking: { type: "disabled" }, messages: loop([signed, call]) },
      { ...ok, thinking: { type: "adaptive" }, messages: loop([call]) },
    ]) {
      const res = await post(`${mock.url}/v1/messages`, body as Json);
      expect(res.status, JSON.stringify((body as Json).thinking)).toBe(200);
    }
  });

  it("404 for a model outside the catalogue when models are configured", async () => {
    await expectError(
      await post(`${mock.url}/v1/messages`, { ...ok, model: "claude-nope" }),
      404,
      "not_found_error",
      "model: claude-nope",
    );
    expect((await post(`${mock.url}/v1/messages`, { ...ok, model: "claude-haiku-4-5" })).status).toBe(200);
  });

  it("413 for a body over the limit", async () => {
    const big = user("x".repeat(70 * 1024));
    await expectError(
      await post(`${mock.url}/v1/messages`, big),
      413,
      "request_too_large",
      "Request exceeds the maximum allowed number of bytes.",
    );
  });
});

describe("count_tokens validation", () => {
  it("needs model and messages, not max_tokens", async () => {
    const url = `${mock.url}/v1/messages/count_tokens`;
    await expectError(
      await post(url, { messages: ok.messages }),
      400,
      "invalid_request_error",
      "model: Field required",
    );
    await expectError(
      await post(url, { model: "my-model" }),
      400,
      "invalid_request_error",
      "messages: Field required",
    );
    const res = await post(url, { model: "my-model", messages: ok.messages });
    expect(await res.json()).toEqual({ input_tokens: Math.ceil(JSON.stringify(ok.messages).length / 4) });
  });
});

describe("auth", () => {
  const body = JSON.stringify(ok);
  it("401 without a key", async () => {
    const res = await fetch(`${mock.url}/v1/messages`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json" },
    });
    await expectError(res, 401, "authentication_error", "x-api-key header is required");
  });
  it("401 for an unknown key, via x-api-key or Bearer", async () => {
    for (const headers of [{ "x-api-key": "wrong" }, { authorization: "Bearer wrong" }]) {
      const res = await fetch(`${mock.url}/v1/messages`, { method: "POST", body, headers });
      await expectError(res, 401, "authentication_error", "invalid x-api-key");
    }
  });
  it("accepts a configured key as Bearer", async () => {
    const res = await fetch(`${mock.url}/v1/messages`, {
      method: "POST",
      body,
      headers: { authorization: "Bearer other" },
    });
    expect(res.status).toBe(200);
  });
  it("any non-empty key when no keys are configured", async () => {
    const open = await startMock({ quiet: true });
    try {
      const res = await fetch(`${open.url}/v1/models`, { headers: { "x-api-key": "whatever" } });
      expect(res.status).toBe(200);
      const none = await fetch(`${open.url}/v1/models`, { headers: { "x-api-key": "" } });
      expect(none.status).toBe(401);
    } finally {
      await open.close();
    }
  });
});

describe("routing and headers", () => {
  it("404 for an unknown path, 405 for a wrong method", async () => {
    await expectError(await fetch(`${mock.url}/v1/nothing`), 404, "not_found_error", "Not found");
    const res = await fetch(`${mock.url}/v1/messages`, { headers: { "x-api-key": "test" } });
    expect(res.headers.get("allow")).toBe("POST");
    await expectError(res, 405, "invalid_request_error", "Method Not Allowed");
  });

  it("HEAD /api/hello answers 200 without a key", async () => {
    const res = await fetch(`${mock.url}/api/hello`, { method: "HEAD" });
    expect(res.status).toBe(200);
  });

  it("sets request-id everywhere and rate-limit headers on Messages", async () => {
    const res = await post(`${mock.url}/v1/messages?beta=true`, ok);
    expect(res.status).toBe(200);
    expect(res.headers.get("request-id")).toMatch(/^req_011C/);
    for (const kind of ["requests", "tokens", "input-tokens", "output-tokens"]) {
      expect(Number(res.headers.get(`anthropic-ratelimit-${kind}-limit`))).toBeGreaterThan(0);
      expect(Number(res.headers.get(`anthropic-ratelimit-${kind}-remaining`))).toBeGreaterThan(0);
      expect(res.headers.get(`anthropic-ratelimit-${kind}-reset`)).toMatch(
        /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
      );
    }
    const rejected = await post(`${mock.url}/v1/messages`, { ...ok, max_tokens: 0 });
    expect(rejected.status).toBe(400);
    expect(rejected.headers.get("anthropic-ratelimit-requests-limit")).toBe("4000");
    const health = await fetch(`${mock.url}/_mock/health`);
    expect(health.headers.get("request-id")).toMatch(/^req_011C/);
    expect(await health.json()).toEqual({ status: "ok" });
  });

  it("header scenarios apply to other endpoints too", async () => {
    const res = await fetch(`${mock.url}/v1/models`, {
      headers: { "x-api-key": "test", "x-mock-scenario": "error status=429 retry_after=2" },
    });
    expect(res.headers.get("retry-after")).toBe("2");
    await expectError(
      res,
      429,
      "rate_limit_error",
      expect.stringContaining("rate limit") as unknown as string,
    );
  });
});
