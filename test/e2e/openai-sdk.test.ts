// The official `openai` client pointed at CCProxy's API mode (`baseURL: <ccproxy>/api/v1`) with a
// CCProxy key: everything an OpenAI app does, answered by the (mock) Anthropic API behind it.
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { beforeAll, describe, expect, it } from "vitest";
import { byTestId, mockUrl, newKey, upstreamRequests, url } from "./helpers.ts";

let key: string;
beforeAll(async () => {
  key = (await newKey()).key;
});

function client(headers: Record<string, string> = {}) {
  return new OpenAI({ baseURL: `${url()}/api/v1`, apiKey: key, maxRetries: 0, defaultHeaders: headers });
}

/** What the Anthropic API received for the request tagged with `testId`. */
async function upstreamBody(testId: string): Promise<Record<string, unknown>> {
  const [seen] = await upstreamRequests(byTestId(testId));
  return JSON.parse(seen?.body ?? "{}") as Record<string, unknown>;
}

const tools: OpenAI.Chat.ChatCompletionTool[] = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "Weather for a city",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    },
  },
  {
    type: "function",
    function: {
      name: "get_time",
      parameters: { type: "object", properties: { tz: { type: "string" } }, required: ["tz"] },
    },
  },
];

describe("openai SDK through CCProxy API mode", () => {
  it("completes a chat: content, finish_reason, usage, and the model name it asked for", async () => {
    const testId = crypto.randomUUID();
    const res = await client({ "x-test-id": testId }).chat.completions.create({
      model: "gpt-4o",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Say hello" },
      ],
      temperature: 1.5,
      max_completion_tokens: 200,
      user: "user-42",
    });
    expect(res.object).toBe("chat.completion");
    expect(res.model).toBe("gpt-4o");
    expect(res.choices[0]?.message.role).toBe("assistant");
    expect(res.choices[0]?.message.content).toContain("Hello");
    expect(res.choices[0]?.finish_reason).toBe("stop");
    expect(res.usage?.total_tokens).toBe(
      (res.usage?.prompt_tokens ?? 0) + (res.usage?.completion_tokens ?? 0),
    );
    const sent = await upstreamBody(testId);
    expect(sent.model).toMatch(/^claude-/);
    expect(sent.max_tokens).toBe(200);
    expect(sent.metadata).toEqual({ user_id: "user-42" });
    expect(JSON.stringify(sent.system)).toContain("Be brief.");
  });

  it("streams chunks with one id, the role first, and [DONE] handled by the SDK", async () => {
    const stream = await client().chat.completions.create({
      model: "gpt-4o-mini",
      stream: true,
      messages: [{ role: "user", content: "one two three four five six" }],
    });
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks[0]?.choices[0]?.delta.role).toBe("assistant");
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    expect(text).toContain("one two three");
    expect(chunks.filter((c) => c.choices[0]?.finish_reason).map((c) => c.choices[0]?.finish_reason)).toEqual(
      ["stop"],
    );
    expect(chunks.every((c) => c.model === "gpt-4o-mini")).toBe(true);
  });

  it("reports usage in a final chunk with include_usage", async () => {
    const stream = await client().chat.completions.create({
      model: "gpt-4o",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "hi" }],
    });
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage?.completion_tokens).toBeGreaterThan(0);
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
  });

  it("makes parallel tool calls, streamed and not, and takes their results on the next turn", async () => {
    const scenario = {
      "x-mock-scenario":
        'parallel calls=[{"name":"get_weather","input":{"city":"Paris"}},{"name":"get_time","input":{"tz":"CET"}}]',
    };
    const res = await client(scenario).chat.completions.create({
      model: "gpt-4o",
      messages: [{ role: "user", content: "Weather and time in Paris?" }],
      tools,
    });
    const calls = res.choices[0]?.message.tool_calls ?? [];
    expect(res.choices[0]?.finish_reason).toBe("tool_calls");
    expect(calls.map((c) => (c.type === "function" ? c.function.name : ""))).toEqual([
      "get_weather",
      "get_time",
    ]);
    const first = calls[0];
    expect(first?.type === "function" ? JSON.parse(first.function.arguments) : null).toEqual({
      city: "Paris",
    });

    const stream = client(scenario).chat.completions.stream({
      model: "gpt-4o",
      messages: [{ role: "user", content: "Weather and time in Paris?" }],
      tools,
    });
    const final = await stream.finalChatCompletion();
    const streamedCalls = final.choices[0]?.message.tool_calls ?? [];
    expect(
      streamedCalls.map((c) => (c.type === "function" ? JSON.parse(c.function.arguments) : null)),
    ).toEqual([{ city: "Paris" }, { tz: "CET" }]);

    const testId = crypto.randomUUID();
    const next = await client({ "x-test-id": testId }).chat.completions.create({
      model: "gpt-4o",
      tools,
      messages: [
        { role: "user", content: "Weather and time in Paris?" },
        { role: "assistant", content: null, tool_calls: calls },
        { role: "tool", tool_call_id: calls[0]?.id ?? "", content: "18°C and sunny" },
        { role: "tool", tool_call_id: calls[1]?.id ?? "", content: "14:05" },
      ],
    });
    expect(next.choices[0]?.message.content).toContain("18°C and sunny");
    expect(next.choices[0]?.message.content).toContain("14:05");
    const sent = (await upstreamBody(testId)) as {
      messages: Array<{ role: string; content: Array<{ type: string }> }>;
    };
    expect(sent.messages.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
    expect(sent.messages[2]?.content.map((b) => b.type)).toEqual(["tool_result", "tool_result"]);
  });

  it("sends images: a data URI as base64, an https URL as a url source", async () => {
    const testId = crypto.randomUUID();
    const png =
      "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
    await client({ "x-test-id": testId }).chat.completions.create({
      model: "gpt-4o",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "What is in these?" },
            { type: "image_url", image_url: { url: `data:image/png;base64,${png}` } },
            { type: "image_url", image_url: { url: "https://example.com/cat.jpg", detail: "high" } },
          ],
        },
      ],
    });
    const sent = (await upstreamBody(testId)) as {
      messages: Array<{ content: Array<Record<string, unknown>> }>;
    };
    const blocks = sent.messages[0]?.content ?? [];
    expect(blocks[1]).toEqual({
      type: "image",
      source: { type: "base64", media_type: "image/png", data: png },
    });
    expect(blocks[2]).toEqual({ type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } });
  });

  it("honours a JSON schema response_format through structured outputs", async () => {
    const testId = crypto.randomUUID();
    const res = await client({ "x-test-id": testId }).chat.completions.create({
      model: "gpt-4o",
      messages: [{ role: "user", content: "Give me a city" }],
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "city",
          strict: true,
          schema: {
            type: "object",
            properties: { name: { type: "string" } },
            required: ["name"],
            additionalProperties: false,
          },
        },
      },
    });
    expect(JSON.parse(res.choices[0]?.message.content ?? "")).toEqual({ name: "example" });
    const sent = (await upstreamBody(testId)) as {
      output_config?: { format?: { type: string; schema: unknown } };
    };
    expect(sent.output_config?.format?.type).toBe("json_schema");
  });

  it("gives back thinking as reasoning_content, and a client that sends it back is not broken", async () => {
    const c = client({ "x-mock-scenario": "thinking" });
    const res = await c.chat.completions.create({
      model: "claude-sonnet-4-5",
      reasoning_effort: "low",
      messages: [{ role: "user", content: "Think, then answer" }],
    });
    const message = res.choices[0]?.message as { content: string | null; reasoning_content?: string };
    expect(message.reasoning_content).toBeTruthy();
    const testId = crypto.randomUUID();
    const next = await client({ "x-test-id": testId }).chat.completions.create({
      model: "claude-sonnet-4-5",
      reasoning_effort: "low",
      messages: [
        { role: "user", content: "Think, then answer" },
        {
          role: "assistant",
          content: message.content,
          reasoning_content: message.reasoning_content,
        } as OpenAI.Chat.ChatCompletionAssistantMessageParam,
        { role: "user", content: "And again?" },
      ],
    });
    expect(next.choices[0]?.finish_reason).toBe("stop");
    const sent = (await upstreamBody(testId)) as {
      messages: Array<{ role: string; content: unknown }>;
      thinking?: unknown;
    };
    expect(JSON.stringify(sent.messages)).not.toContain('"type":"thinking"');
    expect(sent.thinking).toEqual({ type: "enabled", budget_tokens: 2048 });
  });

  describe("reasoning_effort with tools: the second turn of an agent loop", () => {
    // Claude Sonnet 4.5 thinks with a budget, where Anthropic requires the signed thinking block
    // first in a tool loop's assistant turn; the mock enforces it with the API's own message.
    const MODEL = "claude-sonnet-4-5";
    const weather: OpenAI.Chat.ChatCompletionTool[] = [
      {
        type: "function",
        function: {
          name: "weather",
          description: "Get weather information for a location",
          parameters: {
            type: "object",
            properties: { location: { type: "string" } },
            required: ["location"],
          },
        },
      },
    ];
    const question: OpenAI.Chat.ChatCompletionMessageParam = {
      role: "user",
      content: "What's the weather in Florence, Italy?",
    };
    /** Turn 1 answered by a recorded live response: thinking (signed), then a tool call. */
    const recorded = { "x-mock-scenario": "replay file=anthropic-thinking" };
    type WithThinking = { thinking_blocks?: Array<Record<string, string>>; reasoning_content?: string };

    async function secondTurn(assistant: OpenAI.Chat.ChatCompletionAssistantMessageParam) {
      const testId = crypto.randomUUID();
      const call = assistant.tool_calls?.[0];
      const res = await client({ "x-test-id": testId }).chat.completions.create({
        model: MODEL,
        reasoning_effort: "low",
        tools: weather,
        messages: [
          question,
          assistant,
          { role: "tool", tool_call_id: call?.id ?? "", content: "18°C, sunny" },
        ],
      });
      const sent = (await upstreamBody(testId)) as {
        thinking?: unknown;
        messages: Array<{ role: string; content: Array<{ type: string }> }>;
      };
      return { res, sent };
    }

    it("thinking_blocks returned on the message and sent back: 200, thinking kept on", async () => {
      const first = await client(recorded).chat.completions.create({
        model: MODEL,
        reasoning_effort: "low",
        tools: weather,
        messages: [question],
      });
      const message = first.choices[0]?.message as OpenAI.Chat.ChatCompletionMessage & WithThinking;
      expect(first.choices[0]?.finish_reason).toBe("tool_calls");
      expect(message.thinking_blocks).toEqual([
        {
          type: "thinking",
          thinking: message.reasoning_content,
          signature: expect.stringMatching(/^Es8DCkYI/),
        },
      ]);
      const { res, sent } = await secondTurn({
        role: "assistant",
        content: message.content,
        tool_calls: message.tool_calls,
        thinking_blocks: message.thinking_blocks,
      } as OpenAI.Chat.ChatCompletionAssistantMessageParam);
      expect(res.choices[0]?.message.content).toContain("18°C, sunny");
      expect(sent.thinking).toEqual({ type: "enabled", budget_tokens: 2048 });
      expect(sent.messages[1]?.content.map((b) => b.type)).toEqual(["thinking", "tool_use"]);
    });

    it("the same with a streamed first turn, its thinking_blocks fragments joined as LiteLLM does", async () => {
      const stream = await client(recorded).chat.completions.create({
        model: MODEL,
        reasoning_effort: "low",
        tools: weather,
        stream: true,
        messages: [question],
      });
      const blocks: Array<Record<string, string>> = [];
      let thinking = "";
      const calls: OpenAI.Chat.ChatCompletionMessageToolCall[] = [];
      for await (const chunk of stream) {
        const delta = chunk.choices[0]?.delta as (typeof chunk.choices)[number]["delta"] & WithThinking;
        for (const b of delta?.thinking_blocks ?? []) {
          thinking += b.thinking ?? "";
          if (b.signature) {
            blocks.push({ type: "thinking", thinking, signature: b.signature });
            thinking = "";
          }
        }
        for (const tc of delta?.tool_calls ?? []) {
          if (tc.id)
            calls.push({
              id: tc.id,
              type: "function",
              function: { name: tc.function?.name ?? "", arguments: "" },
            });
          const c = calls[tc.index];
          if (c?.type === "function") c.function.arguments += tc.function?.arguments ?? "";
        }
      }
      expect(blocks).toHaveLength(1);
      const { res, sent } = await secondTurn({
        role: "assistant",
        content: null,
        tool_calls: calls,
        thinking_blocks: blocks,
      } as OpenAI.Chat.ChatCompletionAssistantMessageParam);
      expect(res.choices[0]?.finish_reason).toBe("stop");
      expect(sent.thinking).toEqual({ type: "enabled", budget_tokens: 2048 });
    });

    it("a client that keeps only content and tool_calls (aider, n8n): 200, thinking left off for that turn", async () => {
      const first = await client(recorded).chat.completions.create({
        model: MODEL,
        reasoning_effort: "low",
        tools: weather,
        messages: [question],
      });
      const message = first.choices[0]?.message as OpenAI.Chat.ChatCompletionMessage & WithThinking;
      const { res, sent } = await secondTurn({
        role: "assistant",
        content: message.content,
        tool_calls: message.tool_calls,
        reasoning_content: message.reasoning_content,
      } as OpenAI.Chat.ChatCompletionAssistantMessageParam);
      expect(res.choices[0]?.message.content).toContain("18°C, sunny");
      expect(sent.thinking).toBeUndefined();
      expect(sent.messages[1]?.content.map((b) => b.type)).toEqual(["tool_use"]);
    });
  });

  it("raises the SDK's error classes: n: 2 → BadRequestError, upstream 429 → RateLimitError", async () => {
    const bad = await client()
      .chat.completions.create({ model: "gpt-4o", n: 2, messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect((bad as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("n");

    const limited = await client({ "x-mock-scenario": "error status=429 retry_after=9" })
      .chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect((limited as InstanceType<typeof OpenAI.RateLimitError>).headers?.get("retry-after")).toBe("9");

    const overloaded = await client({ "x-mock-scenario": "error status=529" })
      .chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e);
    expect(overloaded).toBeInstanceOf(OpenAI.InternalServerError);
    expect((overloaded as InstanceType<typeof OpenAI.InternalServerError>).status).toBe(503);

    const wrongKey = new OpenAI({ baseURL: `${url()}/api/v1`, apiKey: "ccp_wrong", maxRetries: 0 });
    await expect(
      wrongKey.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }),
    ).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it("raises a stream error when the upstream fails mid-stream", async () => {
    const stream = await client({ "x-mock-scenario": "midstream_error" }).chat.completions.create({
      model: "gpt-4o",
      stream: true,
      messages: [{ role: "user", content: "hi" }],
    });
    await expect(
      (async () => {
        for await (const _ of stream) {
          // consume
        }
      })(),
    ).rejects.toThrow(/Overloaded/);
  });

  it("lists models that the OpenAI SDK parses, aliases included, and retrieves an alias", async () => {
    const ids: string[] = [];
    for await (const m of client().models.list()) ids.push(m.id);
    expect(ids).toEqual(expect.arrayContaining(["gpt-4o", "claude-sonnet-4-5"]));
    const alias = await client().models.retrieve("gpt-4o");
    expect(alias).toMatchObject({ id: "gpt-4o", object: "model", owned_by: "ccproxy" });
    const real = await client().models.retrieve("claude-sonnet-4-5");
    expect(real).toMatchObject({ id: "claude-sonnet-4-5", object: "model", owned_by: "anthropic" });
  });

  it("the same list pages through with the Anthropic SDK: every upstream model once, plus the aliases", async () => {
    const anthropic = new Anthropic({ baseURL: `${url()}/api`, apiKey: key, maxRetries: 0 });
    const ids: string[] = [];
    for await (const m of anthropic.models.list({ limit: 2 })) ids.push(m.id);
    const direct = new Anthropic({ baseURL: mockUrl(), apiKey: "test", maxRetries: 0 });
    const upstream: string[] = [];
    for await (const m of direct.models.list({ limit: 100 })) upstream.push(m.id);
    expect(upstream.length).toBeGreaterThan(2);
    expect(ids.filter((id) => upstream.includes(id))).toEqual(upstream);
    expect(ids).toEqual(expect.arrayContaining(["gpt-4o", "gpt-4o-mini", "o3", "sonnet", "opus", "haiku"]));
    expect(new Set(ids).size).toBe(ids.length);
  });
});
