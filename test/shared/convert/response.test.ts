// Anthropic Message → OpenAI chat.completion: the recorded non-streaming responses, every content
// block kind, finish reasons and usage arithmetic.
import { describe, expect, it } from "vitest";
import type { Message } from "../../../src/shared/anthropic/types.ts";
import { finishReason } from "../../../src/shared/convert/finish.ts";
import { anthropicToOpenAIResponse } from "../../../src/shared/convert/response.ts";
import { fixtureJson } from "./helpers.ts";

const opts = { model: "gpt-4o", created: 1_782_000_000 };

function message(overrides: Partial<Message>): Message {
  return {
    id: "msg_01X",
    type: "message",
    role: "assistant",
    model: "claude-sonnet-5-5",
    content: [],
    stop_reason: "end_turn",
    stop_sequence: null,
    usage: { input_tokens: 1, output_tokens: 1 },
    ...overrides,
  };
}

describe("recorded non-streaming responses", () => {
  it("anthropic-text.nonstream.response.json", () => {
    const m = fixtureJson<Message>("anthropic-text.nonstream.response.json");
    expect(anthropicToOpenAIResponse(m, opts)).toEqual({
      id: "chatcmpl-01KrnBffuzxt8ttHq7iiZe7n",
      object: "chat.completion",
      created: 1_782_000_000,
      model: "gpt-4o",
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content:
              'Olá! \n\n(That\'s "hello" in Portuguese. You could also say "Oi!" for a more casual "hi!")',
            refusal: null,
            annotations: [],
          },
          logprobs: null,
          finish_reason: "stop",
        },
      ],
      usage: {
        prompt_tokens: 16,
        completion_tokens: 34,
        total_tokens: 50,
        prompt_tokens_details: { cached_tokens: 0 },
      },
    });
  });

  it("anthropic-tool.nonstream.response.json", () => {
    const r = anthropicToOpenAIResponse(fixtureJson<Message>("anthropic-tool.nonstream.response.json"), opts);
    expect(r.choices[0]?.message).toEqual({
      role: "assistant",
      content: "I'll check the weather in Florence, Italy for you.",
      refusal: null,
      annotations: [],
      tool_calls: [
        {
          id: "toolu_01XLb9pzgfLa2EMyqWot6Ezt",
          type: "function",
          function: { name: "weather", arguments: '{"location":"Florence,Italy"}' },
        },
      ],
    });
    expect(r.choices[0]?.finish_reason).toBe("tool_calls");
    expect(r.usage).toEqual({
      prompt_tokens: 394,
      completion_tokens: 66,
      total_tokens: 460,
      prompt_tokens_details: { cached_tokens: 0 },
    });
  });

  it("anthropic-thinking.nonstream.response.json: thinking as reasoning_content, no text → content null", () => {
    const m = fixtureJson<Message>("anthropic-thinking.nonstream.response.json");
    const r = anthropicToOpenAIResponse(m, opts);
    const msg = r.choices[0]?.message;
    expect(msg?.content).toBeNull();
    expect(msg?.reasoning_content).toBe((m.content[0] as { thinking: string }).thinking);
    // The signed block, whole, for the client to send back with the tool result.
    expect(msg?.thinking_blocks).toEqual([m.content[0]]);
    expect(msg?.tool_calls?.map((t) => JSON.parse(t.function.arguments))).toEqual([
      { location: "Florence, Italy" },
    ]);
    expect(r.choices[0]?.finish_reason).toBe("tool_calls");
    expect(r.usage.total_tokens).toBe(424 + 118);
  });
});

describe("content blocks", () => {
  it("concatenates text blocks, keeps tool calls and thinking blocks in order, omits server tools", () => {
    const r = anthropicToOpenAIResponse(
      message({
        content: [
          { type: "redacted_thinking", data: "opaque" },
          { type: "thinking", thinking: "a", signature: "s" },
          { type: "server_tool_use", id: "srvtoolu_1", name: "web_search", input: { query: "q" } },
          { type: "web_search_tool_result", tool_use_id: "srvtoolu_1", content: [] },
          { type: "text", text: "Hello", citations: [{ type: "web_search_result_location", url: "u" }] },
          { type: "text", text: " world" },
          { type: "thinking", thinking: "b", signature: "s" },
          { type: "tool_use", id: "toolu_1", name: "f", input: { n: 0, ok: false, s: "", z: null } },
          { type: "tool_use", id: "toolu_2", name: "g", input: {} },
        ],
        stop_reason: "tool_use",
      }),
      opts,
    );
    const msg = r.choices[0]?.message;
    expect(msg?.content).toBe("Hello world");
    expect(msg?.reasoning_content).toBe("ab");
    expect(msg?.thinking_blocks).toEqual([
      { type: "redacted_thinking", data: "opaque" },
      { type: "thinking", thinking: "a", signature: "s" },
      { type: "thinking", thinking: "b", signature: "s" },
    ]);
    expect(msg?.tool_calls).toEqual([
      {
        id: "toolu_1",
        type: "function",
        function: { name: "f", arguments: '{"n":0,"ok":false,"s":"","z":null}' },
      },
      { id: "toolu_2", type: "function", function: { name: "g", arguments: "{}" } },
    ]);
  });

  it("no blocks at all: content null, no tool_calls or reasoning_content keys", () => {
    const msg = anthropicToOpenAIResponse(message({ content: [] }), opts).choices[0]?.message;
    expect(msg).toEqual({ role: "assistant", content: null, refusal: null, annotations: [] });
  });

  it("an empty text block stays an empty string (a refusal with no text)", () => {
    const r = anthropicToOpenAIResponse(
      message({ content: [{ type: "text", text: "" }], stop_reason: "refusal" }),
      opts,
    );
    expect(r.choices[0]?.message.content).toBe("");
    expect(r.choices[0]?.finish_reason).toBe("content_filter");
  });

  it("tool_use stop with only server tools is a plain stop", () => {
    const r = anthropicToOpenAIResponse(
      message({
        content: [{ type: "server_tool_use", id: "s", name: "web_search", input: {} }],
        stop_reason: "tool_use",
      }),
      opts,
    );
    expect(r.choices[0]?.finish_reason).toBe("stop");
  });

  it("defaults created to now", () => {
    const before = Math.floor(Date.now() / 1000);
    const r = anthropicToOpenAIResponse(message({}), { model: "x" });
    expect(r.created).toBeGreaterThanOrEqual(before);
    expect(r.model).toBe("x");
  });
});

describe("finish_reason table", () => {
  it.each([
    ["end_turn", "stop"],
    ["stop_sequence", "stop"],
    ["max_tokens", "length"],
    ["tool_use", "tool_calls"],
    ["refusal", "content_filter"],
    ["pause_turn", "stop"],
    ["model_context_window_exceeded", "length"],
    ["brand_new_reason", "stop"],
    [null, "stop"],
    [undefined, "stop"],
  ])("%s → %s", (reason, expected) => {
    expect(finishReason(reason)).toBe(expected);
  });
});

describe("usage", () => {
  it.each([
    [
      { input_tokens: 10, output_tokens: 5 },
      {
        prompt_tokens: 10,
        completion_tokens: 5,
        total_tokens: 15,
        prompt_tokens_details: { cached_tokens: 0 },
      },
    ],
    [
      { input_tokens: 3, output_tokens: 7, cache_read_input_tokens: 1000, cache_creation_input_tokens: 200 },
      {
        prompt_tokens: 1203,
        completion_tokens: 7,
        total_tokens: 1210,
        prompt_tokens_details: { cached_tokens: 1000 },
      },
    ],
    [
      { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: null, cache_creation_input_tokens: null },
      {
        prompt_tokens: 0,
        completion_tokens: 0,
        total_tokens: 0,
        prompt_tokens_details: { cached_tokens: 0 },
      },
    ],
    [
      { input_tokens: 5, output_tokens: 50, output_tokens_details: { thinking_tokens: 30 } },
      {
        prompt_tokens: 5,
        completion_tokens: 50,
        total_tokens: 55,
        prompt_tokens_details: { cached_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 30 },
      },
    ],
  ])("%j → %j", (usage, expected) => {
    expect(anthropicToOpenAIResponse(message({ usage }), opts).usage).toEqual(expected);
  });
});
