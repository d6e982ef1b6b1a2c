// Every recorded Anthropic stream through the OpenAI stream converter, checked chunk by chunk
// against the OpenAI stream invariants and against the fixture reassembled independently, and fed
// in awkward byte splits that must not change the (parsed) output.
import { describe, expect, it } from "vitest";
import { AnthropicToOpenAIStream } from "../../../src/shared/convert/stream.ts";
import {
  type AnthropicSummary,
  type AnyJson,
  fixtureBytes,
  fixtureText,
  type OpenAISse,
  parseOpenAISse,
  pushKind,
  readAllText,
  sourceOf,
  splitCrlf,
  splitEvery,
  splitRandom,
  summarizeAnthropic,
} from "./helpers.ts";

const CREATED = 1_782_000_000;

async function convert(chunks: readonly Uint8Array[], includeUsage: boolean): Promise<string> {
  const out = sourceOf(chunks).pipeThrough(
    new AnthropicToOpenAIStream({ model: "gpt-4o", includeUsage, created: CREATED }),
  );
  return readAllText(out);
}

interface Expectation {
  file: string;
  finish: string;
  prompt: number;
  completion: number;
  tools: string[];
  reasoning: boolean;
  reasoningTokens?: number;
}

const STREAMS: Expectation[] = [
  { file: "anthropic-text.sse", finish: "stop", prompt: 11, completion: 6, tools: [], reasoning: false },
  { file: "anthropic-text-2.sse", finish: "stop", prompt: 16, completion: 38, tools: [], reasoning: false },
  {
    file: "anthropic-tool.sse",
    finish: "tool_calls",
    prompt: 377,
    completion: 65,
    tools: ["get_weather"],
    reasoning: false,
  },
  {
    file: "anthropic-tool-2.sse",
    finish: "tool_calls",
    prompt: 394,
    completion: 67,
    tools: ["weather"],
    reasoning: false,
  },
  {
    file: "anthropic-tool-parallel.sse",
    finish: "tool_calls",
    prompt: 502,
    completion: 137,
    tools: ["add", "multiply"],
    reasoning: false,
  },
  {
    file: "anthropic-thinking.sse",
    finish: "tool_calls",
    prompt: 424,
    completion: 119,
    tools: ["weather"],
    reasoning: true,
  },
  {
    file: "anthropic-redacted-thinking.sse",
    finish: "stop",
    prompt: 92,
    completion: 189,
    tools: [],
    reasoning: false,
  },
  // Server tools ran upstream: no client tool calls; message_delta's input count (13520) is the billed one.
  {
    file: "anthropic-server-tool-websearch.sse",
    finish: "stop",
    prompt: 13520,
    completion: 415,
    tools: [],
    reasoning: false,
  },
  {
    file: "anthropic-pause-turn.sse",
    finish: "stop",
    prompt: 404500,
    completion: 943,
    tools: [],
    reasoning: true,
    reasoningTokens: 261,
  },
  {
    file: "anthropic-refusal.sse",
    finish: "content_filter",
    prompt: 20,
    completion: 0,
    tools: [],
    reasoning: false,
  },
];

/** formats.md §3.7 "OpenAI-facing stream", plus agreement with the independently reassembled fixture. */
function checkStream(sse: OpenAISse, expected: AnthropicSummary, includeUsage: boolean): void {
  expect(sse.done).toBe(true);
  expect(sse.data.filter((d) => d === "[DONE]")).toHaveLength(1);
  const chunks = sse.chunks;
  const id = `chatcmpl-${String(expected.messageId).replace(/^msg_/, "")}`;
  for (const c of chunks) {
    expect(c.error).toBeUndefined();
    expect(c.id).toBe(id);
    expect(c.object).toBe("chat.completion.chunk");
    expect(c.created).toBe(CREATED);
    expect(c.model).toBe("gpt-4o");
    expect(c.choices.length).toBeLessThanOrEqual(1);
    for (const choice of c.choices) {
      expect(choice.index).toBe(0);
      expect(choice.logprobs).toBeNull();
    }
  }
  // As OpenAI sends it: content "" before text, null before a tool call.
  expect(chunks[0].choices[0].delta).toEqual({
    role: "assistant",
    content: expected.firstBlock === "tool_use" ? null : "",
    refusal: null,
  });
  expect(chunks.slice(1).every((c: AnyJson) => c.choices[0]?.delta.role === undefined)).toBe(true);

  const withChoice = chunks.filter((c: AnyJson) => c.choices.length === 1);
  const finishing = withChoice.filter((c: AnyJson) => c.choices[0].finish_reason !== null);
  expect(finishing).toHaveLength(1);
  expect(finishing[0]).toBe(withChoice[withChoice.length - 1]);
  expect(finishing[0].choices[0].delta).toEqual({});

  if (includeUsage) {
    const last = chunks[chunks.length - 1];
    expect(last.choices).toEqual([]);
    expect(last.usage.total_tokens).toBe(last.usage.prompt_tokens + last.usage.completion_tokens);
    for (const c of chunks.slice(0, -1)) expect(c.usage).toBeNull();
    expect(chunks.filter((c: AnyJson) => c.choices.length === 0)).toHaveLength(1);
  } else {
    for (const c of chunks) expect("usage" in c).toBe(false);
    expect(chunks.filter((c: AnyJson) => c.choices.length === 0)).toHaveLength(0);
  }

  let content = "";
  let reasoning = "";
  const order: string[] = [];
  const thinkingBlocks: AnyJson[] = [];
  let thinkingText = "";
  const calls: Array<{ id: string; name: string; args: string }> = [];
  for (const c of withChoice) {
    const d = c.choices[0].delta;
    if (typeof d.content === "string") content += d.content;
    if (typeof d.content === "string" && d.content !== "") pushKind(order, "content");
    if (typeof d.reasoning_content === "string") reasoning += d.reasoning_content;
    for (const b of d.thinking_blocks ?? []) {
      // LiteLLM's accumulation: text fragments join until a signature closes the block.
      if (b.type === "redacted_thinking") {
        pushKind(order, "redacted");
        thinkingBlocks.push(b);
      } else {
        pushKind(order, "reasoning");
        expect(b.thinking === "" || b.thinking === d.reasoning_content).toBe(true);
        thinkingText += b.thinking;
        if (b.signature !== "") {
          thinkingBlocks.push({ type: "thinking", thinking: thinkingText, signature: b.signature });
          thinkingText = "";
        }
      }
    }
    for (const tc of d.tool_calls ?? []) pushKind(order, `tool ${tc.index}`);
    for (const tc of d.tool_calls ?? []) {
      expect(d.tool_calls).toHaveLength(1);
      if (tc.index === calls.length) {
        // announcement: id, type, name, empty arguments; indices appear in order 0, 1, …
        expect(Object.keys(tc).sort()).toEqual(["function", "id", "index", "type"]);
        expect(tc.type).toBe("function");
        expect(tc.function).toEqual({ name: tc.function.name, arguments: "" });
        calls.push({ id: tc.id, name: tc.function.name, args: "" });
      } else {
        expect(tc.index).toBeLessThan(calls.length);
        expect(Object.keys(tc).sort()).toEqual(["function", "index"]);
        expect(Object.keys(tc.function)).toEqual(["arguments"]);
        const call = calls[tc.index];
        if (call) call.args += tc.function.arguments;
      }
    }
  }
  expect(content).toBe(expected.text);
  expect(reasoning).toBe(expected.thinking);
  // Deltas come in the Anthropic block order: reasoning, text and each tool call where they were.
  expect(order).toEqual(expected.order);
  expect(thinkingBlocks).toEqual(expected.thinkingBlocks);
  expect(calls.map((c) => ({ id: c.id, name: c.name, input: JSON.parse(c.args) }))).toEqual(expected.tools);
}

describe.each(STREAMS)("$file", (fx) => {
  const text = fixtureText(fx.file);
  const bytes = fixtureBytes(fx.file);
  const expected = summarizeAnthropic(text);

  it("meets the OpenAI stream invariants and matches the Anthropic stream, with include_usage", async () => {
    const sse = parseOpenAISse(await convert([bytes], true));
    checkStream(sse, expected, true);
    const finish = sse.chunks.find((c: AnyJson) => c.choices[0]?.finish_reason);
    expect(finish.choices[0].finish_reason).toBe(fx.finish);
    expect(
      sse.chunks
        .flatMap((c: AnyJson) => c.choices[0]?.delta.tool_calls ?? [])
        .filter((t: AnyJson) => t.id)
        .map((t: AnyJson) => t.function.name),
    ).toEqual(fx.tools);
    const usage = sse.chunks[sse.chunks.length - 1].usage;
    const cacheRead = expected.usage.cache_read_input_tokens ?? 0;
    expect(usage).toMatchObject({
      prompt_tokens: fx.prompt,
      completion_tokens: fx.completion,
      total_tokens: fx.prompt + fx.completion,
      prompt_tokens_details: { cached_tokens: cacheRead },
    });
    expect(usage.prompt_tokens).toBe(
      (expected.usage.input_tokens ?? 0) + cacheRead + (expected.usage.cache_creation_input_tokens ?? 0),
    );
    if (fx.reasoningTokens !== undefined) {
      expect(usage.completion_tokens_details).toEqual({ reasoning_tokens: fx.reasoningTokens });
    }
    expect(expected.thinking !== "").toBe(fx.reasoning);
  });

  it("meets the invariants without include_usage (no usage key anywhere)", async () => {
    checkStream(parseOpenAISse(await convert([bytes], false)), expected, false);
  });

  it("gives the same output however the bytes are split", async () => {
    const parsed = (out: string) => parseOpenAISse(out).data.map((d) => (d === "[DONE]" ? d : JSON.parse(d)));
    const whole = parsed(await convert([bytes], true));
    const splits = [
      splitEvery(bytes, 1),
      splitRandom(bytes, 1),
      splitRandom(bytes, 2, 7),
      splitRandom(bytes, 3, 4096),
      splitCrlf(text),
    ];
    for (const chunks of splits) expect(parsed(await convert(chunks, true))).toEqual(whole);
  });
});

describe("anthropic-error-event.sse", () => {
  it("becomes an OpenAI error chunk and the stream ends without [DONE]", async () => {
    const text = fixtureText("anthropic-error-event.sse");
    for (const chunks of [
      [fixtureBytes("anthropic-error-event.sse")],
      splitEvery(fixtureBytes("anthropic-error-event.sse"), 1),
      splitCrlf(text),
    ]) {
      const sse = parseOpenAISse(await convert(chunks, true));
      expect(sse.done).toBe(false);
      expect(sse.chunks).toEqual([
        { error: { message: "Overloaded", type: "overloaded_error", param: null, code: "overloaded" } },
      ]);
    }
  });
});
