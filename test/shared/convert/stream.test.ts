// The stream state machine driven event by event: tool-call indexing across block kinds, usage
// arithmetic (cache tokens, overwrite not add), finish reasons, and every way a stream can go wrong.
import { describe, expect, it } from "vitest";
import { AnthropicToOpenAIStream, OpenAIStreamConverter } from "../../../src/shared/convert/stream.ts";
import { type AnyJson, parseOpenAISse, readAllText, sourceOf } from "./helpers.ts";

type Ev = Record<string, unknown>;

const start = (usage: Ev = { input_tokens: 10, output_tokens: 1 }, id = "msg_abc"): Ev => ({
  type: "message_start",
  message: {
    id,
    type: "message",
    role: "assistant",
    model: "claude-x",
    content: [],
    stop_reason: null,
    usage,
  },
});
const blockStart = (index: number, content_block: Ev): Ev => ({
  type: "content_block_start",
  index,
  content_block,
});
const delta = (index: number, d: Ev): Ev => ({ type: "content_block_delta", index, delta: d });
const stop = (index: number): Ev => ({ type: "content_block_stop", index });
const messageDelta = (stop_reason: string | null, usage: Ev = { output_tokens: 5 }): Ev => ({
  type: "message_delta",
  delta: { stop_reason, stop_sequence: null },
  usage,
});
const END: Ev = { type: "message_stop" };

function run(events: Ev[], includeUsage = true): { chunks: AnyJson[]; done: boolean; text: string } {
  const c = new OpenAIStreamConverter({ model: "gpt-4o", includeUsage, created: 1 });
  let text = "";
  for (const ev of events) text += c.push(ev);
  text += c.end();
  const sse = parseOpenAISse(text);
  return { chunks: sse.chunks, done: sse.done, text };
}

const deltas = (chunks: AnyJson[]) =>
  chunks.filter((c) => c.choices?.length === 1).map((c) => c.choices[0].delta);
const toolDeltas = (chunks: AnyJson[]) => deltas(chunks).flatMap((d) => d.tool_calls ?? []);
const finishOf = (chunks: AnyJson[]) =>
  chunks.find((c) => c.choices?.[0]?.finish_reason)?.choices[0].finish_reason;
const usageOf = (chunks: AnyJson[]) => chunks[chunks.length - 1].usage;

describe("tool calls", () => {
  it("numbers tool calls 0, 1, … in order of tool_use blocks, whatever the block index", () => {
    const { chunks } = run([
      start(),
      blockStart(0, { type: "server_tool_use", id: "srvtoolu_1", name: "web_search", input: {} }),
      delta(0, { type: "input_json_delta", partial_json: '{"query":"x"}' }),
      stop(0),
      blockStart(1, { type: "thinking", thinking: "", signature: "" }),
      delta(1, { type: "thinking_delta", thinking: "hmm" }),
      delta(1, { type: "signature_delta", signature: "sig" }),
      stop(1),
      blockStart(2, { type: "tool_use", id: "toolu_a", name: "a", input: {} }),
      delta(2, { type: "input_json_delta", partial_json: '{"x":' }),
      delta(2, { type: "input_json_delta", partial_json: "1}" }),
      stop(2),
      blockStart(3, { type: "web_search_tool_result", tool_use_id: "srvtoolu_1", content: [] }),
      stop(3),
      blockStart(4, { type: "text", text: "" }),
      delta(4, { type: "text_delta", text: "ok" }),
      stop(4),
      blockStart(5, { type: "tool_use", id: "toolu_b", name: "b", input: {} }),
      delta(5, { type: "input_json_delta", partial_json: "" }),
      delta(5, { type: "input_json_delta", partial_json: '{"y":2}' }),
      stop(5),
      messageDelta("tool_use"),
      END,
    ]);
    expect(toolDeltas(chunks)).toEqual([
      { index: 0, id: "toolu_a", type: "function", function: { name: "a", arguments: "" } },
      { index: 0, function: { arguments: '{"x":' } },
      { index: 0, function: { arguments: "1}" } },
      { index: 1, id: "toolu_b", type: "function", function: { name: "b", arguments: "" } },
      { index: 1, function: { arguments: '{"y":2}' } },
    ]);
    expect(deltas(chunks).filter((d) => d.reasoning_content)).toEqual([
      {
        reasoning_content: "hmm",
        thinking_blocks: [{ type: "thinking", thinking: "hmm", signature: "" }],
      },
    ]);
    expect(deltas(chunks).filter((d) => d.content)).toEqual([{ content: "ok" }]);
    expect(finishOf(chunks)).toBe("tool_calls");
  });

  it('sends "{}" for a tool call with no argument fragments, or its whole input when it came at once', () => {
    const { chunks } = run([
      start(),
      blockStart(0, { type: "tool_use", id: "t1", name: "now", input: {} }),
      stop(0),
      blockStart(1, { type: "tool_use", id: "t2", name: "whole", input: { city: "Rome", n: 0 } }),
      stop(1),
      messageDelta("tool_use"),
      END,
    ]);
    const args = toolDeltas(chunks).filter((t) => !t.id);
    expect(args).toEqual([
      { index: 0, function: { arguments: "{}" } },
      { index: 1, function: { arguments: '{"city":"Rome","n":0}' } },
    ]);
  });

  it("reports stop, not tool_calls, when only server tools ran", () => {
    const { chunks } = run([
      start(),
      blockStart(0, { type: "server_tool_use", id: "s", name: "web_search", input: {} }),
      stop(0),
      messageDelta("tool_use"),
      END,
    ]);
    expect(finishOf(chunks)).toBe("stop");
  });
});

describe("thinking blocks, as LiteLLM streams them", () => {
  /** What a LiteLLM-style accumulator rebuilds from the deltas: text fragments until a signature. */
  function accumulate(chunks: AnyJson[]): AnyJson[] {
    const blocks: AnyJson[] = [];
    let text = "";
    for (const d of deltas(chunks)) {
      for (const b of d.thinking_blocks ?? []) {
        if (b.type === "redacted_thinking") blocks.push(b);
        else {
          text += b.thinking;
          if (b.signature !== "") {
            blocks.push({ type: "thinking", thinking: text, signature: b.signature });
            text = "";
          }
        }
      }
    }
    return blocks;
  }

  it("streams thinking text in reasoning_content and thinking_blocks, then the signature, then redacted blocks", () => {
    const { chunks } = run([
      start(),
      blockStart(0, { type: "thinking", thinking: "", signature: "" }),
      delta(0, { type: "thinking_delta", thinking: "Let me " }),
      delta(0, { type: "thinking_delta", thinking: "" }),
      delta(0, { type: "thinking_delta", thinking: "think." }),
      delta(0, { type: "signature_delta", signature: "EqQBsig==" }),
      stop(0),
      blockStart(1, { type: "redacted_thinking", data: "EmwKAhgBEgy3va3pzix/LafPsn4a" }),
      stop(1),
      blockStart(2, { type: "text", text: "" }),
      delta(2, { type: "text_delta", text: "Done." }),
      stop(2),
      messageDelta("end_turn"),
      END,
    ]);
    expect(deltas(chunks).map((d) => d.reasoning_content ?? null)).toEqual([
      null,
      "Let me ",
      "think.",
      null,
      null,
      null,
      null,
    ]);
    expect(accumulate(chunks)).toEqual([
      { type: "thinking", thinking: "Let me think.", signature: "EqQBsig==" },
      { type: "redacted_thinking", data: "EmwKAhgBEgy3va3pzix/LafPsn4a" },
    ]);
  });

  it("keeps a signature-only thinking block (thinking display omitted)", () => {
    const { chunks } = run([
      start(),
      blockStart(0, { type: "thinking", thinking: "", signature: "" }),
      delta(0, { type: "signature_delta", signature: "sigonly" }),
      stop(0),
      messageDelta("end_turn"),
      END,
    ]);
    expect(deltas(chunks).flatMap((d) => d.thinking_blocks ?? [])).toEqual([
      { type: "thinking", thinking: "", signature: "sigonly" },
    ]);
    expect(deltas(chunks).some((d) => "reasoning_content" in d)).toBe(false);
  });
});

describe("usage", () => {
  it("counts cache reads and writes in prompt_tokens and reports reads as cached_tokens", () => {
    const { chunks } = run([
      start({
        input_tokens: 10,
        cache_read_input_tokens: 100,
        cache_creation_input_tokens: 50,
        output_tokens: 1,
      }),
      messageDelta("end_turn", { output_tokens: 20 }),
      END,
    ]);
    expect(usageOf(chunks)).toEqual({
      prompt_tokens: 160,
      completion_tokens: 20,
      total_tokens: 180,
      prompt_tokens_details: { cached_tokens: 100 },
    });
  });

  it("overwrites with the latest cumulative counts instead of adding them", () => {
    const { chunks } = run([
      start({ input_tokens: 10, output_tokens: 3 }),
      messageDelta(null, { output_tokens: 5 }),
      messageDelta("end_turn", { output_tokens: 9, input_tokens: 12, cache_read_input_tokens: 0 }),
      END,
    ]);
    expect(usageOf(chunks)).toMatchObject({ prompt_tokens: 12, completion_tokens: 9, total_tokens: 21 });
  });

  it("keeps message_start's output count when no message_delta reports one, and zeros as zeros", () => {
    const { chunks } = run([start({ input_tokens: 0, output_tokens: 0 }), messageDelta("end_turn", {}), END]);
    expect(usageOf(chunks)).toEqual({
      prompt_tokens: 0,
      completion_tokens: 0,
      total_tokens: 0,
      prompt_tokens_details: { cached_tokens: 0 },
    });
  });
});

describe("finish_reason", () => {
  it.each([
    ["end_turn", "stop"],
    ["stop_sequence", "stop"],
    ["max_tokens", "length"],
    ["tool_use", "stop"], // no client tool call in this stream
    ["refusal", "content_filter"],
    ["pause_turn", "stop"],
    ["model_context_window_exceeded", "length"],
    ["something_new", "stop"],
    [null, "stop"],
  ])("%s → %s", (reason, finish) => {
    const { chunks, done } = run([start(), messageDelta(reason), END]);
    expect(finishOf(chunks) ?? "stop").toBe(finish);
    expect(
      chunks.filter((c) => c.choices?.[0]?.finish_reason !== null && c.choices?.length === 1),
    ).toHaveLength(1);
    expect(done).toBe(true);
  });
});

describe("stream shape", () => {
  it("opens with role and empty content, then text as it arrives; ping and unknown events change nothing", () => {
    const base = [
      start(),
      blockStart(0, { type: "text", text: "" }),
      delta(0, { type: "text_delta", text: "Hel" }),
      delta(0, { type: "text_delta", text: "lo" }),
      stop(0),
      messageDelta("end_turn"),
      END,
    ];
    const plain = run(base);
    const noisy = run([
      { type: "ping" },
      ...base.slice(0, 2),
      { type: "ping" },
      { type: "some_future_event", data: 1 },
      delta(0, { type: "citations_delta", citation: {} }),
      ...base.slice(2),
    ]);
    expect(noisy.text).toBe(plain.text);
    expect(deltas(plain.chunks)).toEqual([
      { role: "assistant", content: "", refusal: null },
      { content: "Hel" },
      { content: "lo" },
      {},
    ]);
    expect(plain.chunks[0].id).toBe("chatcmpl-abc");
  });

  it("says content null in the role chunk when a tool call comes first, as OpenAI does", () => {
    const { chunks } = run([
      start(),
      blockStart(0, { type: "tool_use", id: "toolu_a", name: "a", input: {} }),
      delta(0, { type: "input_json_delta", partial_json: "{}" }),
      stop(0),
      messageDelta("tool_use"),
      END,
    ]);
    expect(deltas(chunks)[0]).toEqual({ role: "assistant", content: null, refusal: null });
    expect(deltas(chunks)[1].tool_calls[0].id).toBe("toolu_a");
  });

  it("still sends the role chunk for an answer with no content at all", () => {
    const { chunks } = run([start(), messageDelta("end_turn"), END]);
    expect(deltas(chunks)).toEqual([{ role: "assistant", content: "", refusal: null }, {}]);
  });

  it("tolerates content before message_start with a fresh id", () => {
    const { chunks, done } = run([
      blockStart(0, { type: "text", text: "" }),
      delta(0, { type: "text_delta", text: "x" }),
      messageDelta("end_turn"),
      END,
    ]);
    expect(done).toBe(true);
    expect(chunks[0].id).toMatch(/^chatcmpl-[0-9a-f]{32}$/);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
  });

  it("ignores everything after message_stop", () => {
    const { chunks, text } = run([
      start(),
      messageDelta("end_turn"),
      END,
      delta(0, { type: "text_delta", text: "late" }),
    ]);
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(deltas(chunks).some((d) => d.content === "late")).toBe(false);
  });
});

describe("failures become an in-stream error, never a clean finish", () => {
  const errorOf = (chunks: AnyJson[]) => chunks.filter((c) => c.error).map((c) => c.error);

  it("an upstream error event after content: content kept, error chunk, no finish, no [DONE]", () => {
    const { chunks, done } = run([
      start(),
      blockStart(0, { type: "text", text: "" }),
      delta(0, { type: "text_delta", text: "partial" }),
      { type: "error", error: { type: "api_error", message: "Internal server error" } },
      delta(0, { type: "text_delta", text: "more" }),
      END,
    ]);
    expect(done).toBe(false);
    expect(errorOf(chunks)).toEqual([
      { message: "Internal server error", type: "server_error", param: null, code: null },
    ]);
    expect(chunks[chunks.length - 1].error).toBeDefined();
    expect(finishOf(chunks)).toBeUndefined();
    expect(deltas(chunks).map((d) => d.content)).toEqual(["", "partial"]);
  });

  it.each([
    ["rate_limit_error", "rate_limit_error", "rate_limit_exceeded"],
    ["overloaded_error", "overloaded_error", "overloaded"],
    ["invalid_request_error", "invalid_request_error", null],
  ])("error type %s → OpenAI type %s, code %s", (anthropicType, type, code) => {
    const { chunks } = run([start(), { type: "error", error: { type: anthropicType, message: "m" } }]);
    expect(errorOf(chunks)).toEqual([{ message: "m", type, param: null, code }]);
  });

  it("a stream that ends without message_stop (dropped upstream)", () => {
    const { chunks, done } = run([
      start(),
      blockStart(0, { type: "text", text: "" }),
      delta(0, { type: "text_delta", text: "a" }),
    ]);
    expect(done).toBe(false);
    expect(errorOf(chunks)).toEqual([
      {
        message: "The upstream stream ended before the message was complete.",
        type: "server_error",
        param: null,
        code: "upstream_unreachable",
      },
    ]);
  });

  it("an empty upstream body", () => {
    const { chunks, done } = run([]);
    expect(done).toBe(false);
    expect(errorOf(chunks)).toHaveLength(1);
  });

  it("malformed JSON in an event, and an event that is not an object", () => {
    for (const data of ['{"type":"content_block_delta",', "42"]) {
      const c = new OpenAIStreamConverter({ model: "m", includeUsage: false });
      let text = c.pushSse({ event: "message_start", data: JSON.stringify(start()) });
      text += c.pushSse({ event: "content_block_delta", data });
      expect(c.failed).toBe(true);
      text += c.pushSse({ event: "message_stop", data: '{"type":"message_stop"}' }) + c.end();
      const sse = parseOpenAISse(text);
      expect(sse.done).toBe(false);
      expect(errorOf(sse.chunks)).toHaveLength(1);
      expect(sse.chunks[sse.chunks.length - 1].error.type).toBe("server_error");
    }
  });

  it("an upstream connection that fails mid-stream: the content so far, an error chunk, a clean end", async () => {
    const enc = new TextEncoder();
    let sent = 0;
    const failing = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent++;
        if (sent === 1) {
          controller.enqueue(
            enc.encode(
              `event: message_start\ndata: ${JSON.stringify(start())}\n\nevent: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\nevent: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"partial"}}\n\n`,
            ),
          );
        } else controller.error(new TypeError("network connection lost"));
      },
    });
    const out = await readAllText(
      failing.pipeThrough(new AnthropicToOpenAIStream({ model: "m", includeUsage: true })),
    );
    const sse = parseOpenAISse(out);
    expect(sse.done).toBe(false);
    expect(deltas(sse.chunks).map((d) => d.content)).toEqual(["", "partial"]);
    expect(sse.chunks[sse.chunks.length - 1]).toEqual({
      error: {
        message: "The upstream connection was lost before the message was complete.",
        type: "server_error",
        param: null,
        code: "upstream_unreachable",
      },
    });
  });

  it("a body cut in the middle of an event, through the byte stream", async () => {
    const full = `event: message_start\ndata: ${JSON.stringify(start())}\n\nevent: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\nevent: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","te`;
    const out = await readAllText(
      sourceOf([new TextEncoder().encode(full)]).pipeThrough(
        new AnthropicToOpenAIStream({ model: "m", includeUsage: true }),
      ),
    );
    const sse = parseOpenAISse(out);
    expect(sse.done).toBe(false);
    expect(sse.chunks[sse.chunks.length - 1].error).toBeDefined();
  });
});
