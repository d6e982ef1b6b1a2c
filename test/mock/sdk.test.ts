// The official @anthropic-ai/sdk against the mock: what a user of the SDK would notice if the mock
// were not the real API (shapes, streaming accumulation, tool input, thinking, errors, paging).
import Anthropic, {
  APIError,
  AuthenticationError,
  BadRequestError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
} from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MockServer, startMock } from "../../src/mock/server.ts";

let mock: MockServer;
let client: Anthropic;

beforeAll(async () => {
  mock = await startMock({ quiet: true, apiKeys: ["test"] });
  client = new Anthropic({ baseURL: mock.url, apiKey: "test", maxRetries: 0 });
});
afterAll(() => mock.close());

const MODEL = "claude-sonnet-5-5";
const weatherTool = {
  name: "get_weather",
  description: "Current weather",
  input_schema: {
    type: "object" as const,
    properties: { city: { type: "string" }, unit: { type: "string", enum: ["c", "f"] } },
    required: ["city", "unit"],
  },
};

async function capture(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection");
}

describe("messages", () => {
  it("creates a message (non-streaming) echoing the user", async () => {
    const msg = await client.messages.create({
      model: MODEL,
      max_tokens: 100,
      messages: [{ role: "user", content: "Ping from the SDK" }],
    });
    expect(msg.type).toBe("message");
    expect(msg.role).toBe("assistant");
    expect(msg.model).toBe(MODEL);
    expect(msg.id).toMatch(/^msg_01[0-9A-Za-z]{22}$/);
    expect(msg.stop_reason).toBe("end_turn");
    expect(msg.content).toEqual([{ type: "text", text: expect.stringContaining("Ping from the SDK") }]);
    expect(msg.usage.output_tokens).toBeGreaterThan(0);
  });

  it("streams, and the accumulated message equals the non-streamed one", async () => {
    const params = {
      model: MODEL,
      max_tokens: 100,
      messages: [
        { role: "user" as const, content: '[[mock:text text="one two three four five six seven"]]' },
      ],
    };
    const stream = client.messages.stream(params);
    const deltas: string[] = [];
    stream.on("text", (t) => deltas.push(t));
    const streamed = await stream.finalMessage();
    const plain = await client.messages.create(params);
    expect(deltas.length).toBeGreaterThan(2);
    expect(deltas.join("")).toBe("one two three four five six seven");
    expect(streamed.content).toEqual(plain.content);
    expect(streamed.usage.output_tokens).toBe(plain.usage.output_tokens);
    expect(streamed.usage.input_tokens).toBe(plain.usage.input_tokens);
    expect(streamed.stop_reason).toBe("end_turn");
  });

  it("reassembles tool_use input from input_json_delta fragments", async () => {
    const input = { city: "Zürich 🌧", unit: "c", nested: { list: [1, 2, 3], s: "]]" } };
    const msg = await client.messages
      .stream({
        model: MODEL,
        max_tokens: 200,
        tools: [weatherTool],
        messages: [{ role: "user", content: `Weather? [[mock:tool input=${JSON.stringify(input)}]]` }],
      })
      .finalMessage();
    expect(msg.stop_reason).toBe("tool_use");
    expect(msg.content[0]).toEqual({ type: "text", text: "I'll use get_weather." });
    const tool = msg.content[1];
    expect(tool?.type).toBe("tool_use");
    if (tool?.type !== "tool_use") throw new Error("no tool_use");
    expect(tool.name).toBe("get_weather");
    expect(tool.id).toMatch(/^toolu_01/);
    expect(tool.input).toEqual(input);
  });

  it("builds a default tool input from the schema's required properties", async () => {
    const msg = await client.messages.create({
      model: MODEL,
      max_tokens: 200,
      tools: [weatherTool],
      messages: [{ role: "user", content: "[[mock:tool notext]]" }],
    });
    expect(msg.content).toHaveLength(1);
    expect(msg.content[0]).toMatchObject({
      type: "tool_use",
      name: "get_weather",
      input: { city: "example", unit: "c" },
    });
  });

  it("answers parallel tool calls, then the tool results", async () => {
    const first = await client.messages.create({
      model: MODEL,
      max_tokens: 200,
      tools: [weatherTool, { ...weatherTool, name: "get_time" }],
      messages: [{ role: "user", content: "[[mock:parallel]]" }],
    });
    const uses = first.content.filter((b) => b.type === "tool_use");
    expect(uses.map((b) => b.name)).toEqual(["get_weather", "get_time"]);
    const second = await client.messages.create({
      model: MODEL,
      max_tokens: 200,
      tools: [weatherTool],
      messages: [
        { role: "user", content: "[[mock:parallel]]" },
        { role: "assistant", content: first.content },
        {
          role: "user",
          content: uses.map((u, i) => ({
            type: "tool_result" as const,
            tool_use_id: u.id,
            content: `result ${i}`,
          })),
        },
      ],
    });
    expect(second.stop_reason).toBe("end_turn");
    expect(second.content).toEqual([{ type: "text", text: "Tool result: result 0\nTool result: result 1" }]);
  });

  it("streams a thinking block with its signature before the text", async () => {
    const stream = client.messages.stream({
      model: MODEL,
      max_tokens: 4096,
      thinking: { type: "enabled", budget_tokens: 2048 },
      messages: [{ role: "user", content: "Think first [[mock:thinking]]" }],
    });
    const signatures: string[] = [];
    stream.on("streamEvent", (e) => {
      if (e.type === "content_block_delta" && e.delta.type === "signature_delta")
        signatures.push(e.delta.signature);
    });
    const msg = await stream.finalMessage();
    expect(msg.content.map((b) => b.type)).toEqual(["thinking", "text"]);
    const thinking = msg.content[0];
    if (thinking?.type !== "thinking") throw new Error("no thinking block");
    expect(thinking.thinking).toContain("Think first");
    expect(signatures).toHaveLength(1);
    expect(thinking.signature).toBe(signatures[0]);
    expect(thinking.signature.length).toBeGreaterThan(100);
  });

  it("reports other stop reasons", async () => {
    const ask = (content: string, extra: Record<string, unknown> = {}) =>
      client.messages.create({
        model: MODEL,
        max_tokens: 5,
        messages: [{ role: "user", content }],
        ...extra,
      });
    const maxed = await ask("[[mock:max_tokens]]");
    expect(maxed.stop_reason).toBe("max_tokens");
    expect((maxed.content[0] as { text: string }).text.length).toBeLessThanOrEqual(20);
    expect((await ask("[[mock:refusal]]")).stop_reason).toBe("refusal");
    expect((await ask("[[mock:pause_turn]]")).stop_reason).toBe("pause_turn");
    const stopped = await ask("[[mock:stop_sequence]]", { stop_sequences: ["END", "STOP"] });
    expect(stopped.stop_reason).toBe("stop_sequence");
    expect(stopped.stop_sequence).toBe("END");
  });

  it("reports cache usage when asked", async () => {
    const msg = await client.messages.create({
      model: MODEL,
      max_tokens: 5,
      messages: [{ role: "user", content: "[[mock:cache read=120 write=30]]" }],
    });
    expect(msg.usage.cache_read_input_tokens).toBe(120);
    expect(msg.usage.cache_creation_input_tokens).toBe(30);
    expect(msg.usage.cache_creation?.ephemeral_5m_input_tokens).toBe(30);
  });

  it("counts tokens with the same estimate as usage.input_tokens", async () => {
    const params = {
      model: MODEL,
      system: "You are terse.",
      tools: [weatherTool],
      messages: [{ role: "user" as const, content: "How many tokens is this?" }],
    };
    const counted = await client.messages.countTokens(params);
    const msg = await client.messages.create({ ...params, max_tokens: 10 });
    expect(counted.input_tokens).toBeGreaterThan(0);
    expect(counted.input_tokens).toBe(msg.usage.input_tokens);
  });
});

describe("models", () => {
  it("lists with paging and retrieves one", async () => {
    const first = await client.models.list({ limit: 3 });
    expect(first.data).toHaveLength(3);
    expect(first.has_more).toBe(true);
    const ids: string[] = [];
    for await (const model of client.models.list({ limit: 3 })) ids.push(model.id);
    expect(ids).toContain("claude-opus-4-5");
    expect(ids).toContain("claude-sonnet-4-20250514");
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.slice(0, 3)).toEqual(first.data.map((m) => m.id));
    const model = await client.models.retrieve("claude-haiku-4-5");
    expect(model).toMatchObject({ type: "model", id: "claude-haiku-4-5", display_name: "Claude Haiku 4.5" });
    expect(Number.isNaN(Date.parse(model.created_at))).toBe(false);
  });
});

describe("errors", () => {
  const create = (scenario: string) =>
    client.messages.create(
      { model: MODEL, max_tokens: 10, messages: [{ role: "user", content: "hi" }] },
      { headers: { "x-mock-scenario": scenario } },
    );

  it.each([
    ["error status=400", BadRequestError, 400, "invalid_request_error"],
    ["error status=403", PermissionDeniedError, 403, "permission_error"],
    ["error status=404", NotFoundError, 404, "not_found_error"],
    ["error status=500", APIError, 500, "api_error"],
  ] as const)("%s", async (scenario, cls, status, type) => {
    const err = (await capture(create(scenario))) as APIError;
    expect(err).toBeInstanceOf(cls);
    expect(err.status).toBe(status);
    expect((err.error as { error: { type: string } }).error.type).toBe(type);
    expect(err.requestID).toMatch(/^req_011C/);
  });

  it("401 for a wrong key", async () => {
    const bad = new Anthropic({ baseURL: mock.url, apiKey: "nope", maxRetries: 0 });
    const err = (await capture(bad.models.list())) as APIError;
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err.message).toContain("invalid x-api-key");
  });

  it("429 with retry-after", async () => {
    const err = (await capture(create('error status=429 retry_after=7 message="slow down"'))) as APIError;
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err.headers?.get("retry-after")).toBe("7");
    expect(err.message).toContain("slow down");
  });

  it("529 overloaded", async () => {
    const err = (await capture(create("error status=529"))) as APIError;
    expect(err).toBeInstanceOf(APIError);
    expect(err.status).toBe(529);
    expect((err.error as { error: { type: string } }).error.type).toBe("overloaded_error");
    expect(err.headers?.get("retry-after")).toBe("1");
  });

  it("a mid-stream error event makes the stream throw", async () => {
    const stream = client.messages.stream({
      model: MODEL,
      max_tokens: 10,
      messages: [{ role: "user", content: "[[mock:midstream_error]]" }],
    });
    const texts: string[] = [];
    stream.on("text", (t) => texts.push(t));
    const err = (await capture(stream.finalMessage())) as APIError;
    expect(err).toBeInstanceOf(APIError);
    expect(String(err.message)).toContain("Overloaded");
    expect(texts.length).toBe(2);
  });
});
