// Renders an Answer as the Messages API does: a non-streaming Message, or the SSE event sequence
// (message_start, per block start/deltas/stop with one ping after the first block start,
// message_delta with cumulative usage, message_stop). Events are produced lazily, one string each.
import type { Message, Usage } from "../shared/anthropic/types.ts";
import { sseEvent } from "../shared/sse/encode.ts";
import { type Answer, type BlockPlan, jsonFragments, outputTokens, splitWords } from "./answer.ts";

export interface RenderContext {
  messageId: string;
  model: string;
  inputTokens: number;
  cacheRead: number;
  cacheWrite: number;
}

export interface MidstreamError {
  /** content_block_delta events sent before the error event. */
  after: number;
  type: string;
  message: string;
}

/** The `ping` exactly as the live API frames it (with spaces). */
const PING = 'event: ping\ndata: {"type": "ping"}\n\n';

export function fullUsage(ctx: RenderContext, output: number): Usage {
  return {
    input_tokens: ctx.inputTokens,
    cache_creation_input_tokens: ctx.cacheWrite,
    cache_read_input_tokens: ctx.cacheRead,
    cache_creation: { ephemeral_5m_input_tokens: ctx.cacheWrite, ephemeral_1h_input_tokens: 0 },
    output_tokens: output,
    service_tier: "standard",
  };
}

function finalBlock(block: BlockPlan): Record<string, unknown> {
  switch (block.type) {
    case "text":
      return { type: "text", text: block.text };
    case "thinking":
      return { type: "thinking", thinking: block.thinking, signature: block.signature };
    case "tool_use":
      return {
        type: "tool_use",
        id: block.id,
        name: block.name,
        input: block.input,
        caller: { type: "direct" },
      };
  }
}

function startBlock(block: BlockPlan): Record<string, unknown> {
  switch (block.type) {
    case "text":
      return { type: "text", text: "" };
    case "thinking":
      return { type: "thinking", thinking: "", signature: "" };
    case "tool_use":
      return { type: "tool_use", id: block.id, name: block.name, input: {}, caller: { type: "direct" } };
  }
}

function* blockDeltas(block: BlockPlan): Generator<Record<string, unknown>> {
  switch (block.type) {
    case "text":
      for (const text of splitWords(block.text, block.wordsPerDelta)) yield { type: "text_delta", text };
      return;
    case "thinking":
      for (const thinking of splitWords(block.thinking)) yield { type: "thinking_delta", thinking };
      // Live streams close the thinking text with an empty delta, then send the signature.
      yield { type: "thinking_delta", thinking: "" };
      yield { type: "signature_delta", signature: block.signature };
      return;
    case "tool_use":
      for (const partial_json of jsonFragments(JSON.stringify(block.input))) {
        yield { type: "input_json_delta", partial_json };
      }
      return;
  }
}

export function renderMessage(answer: Answer, ctx: RenderContext): Message {
  const message: Message = {
    id: ctx.messageId,
    type: "message",
    role: "assistant",
    model: ctx.model,
    content: answer.blocks.map(finalBlock) as Message["content"],
    stop_reason: answer.stopReason,
    stop_sequence: answer.stopSequence,
    usage: fullUsage(ctx, outputTokens(answer)),
  };
  if (answer.stopDetails) message.stop_details = answer.stopDetails;
  return message;
}

/** The SSE text of each event, in order. */
export function* renderEvents(answer: Answer, ctx: RenderContext, fault?: MidstreamError): Generator<string> {
  yield sseEvent("message_start", {
    type: "message_start",
    message: {
      id: ctx.messageId,
      type: "message",
      role: "assistant",
      model: ctx.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: fullUsage(ctx, 1),
    },
  });
  const error = fault
    ? sseEvent("error", { type: "error", error: { type: fault.type, message: fault.message } })
    : "";
  let deltas = 0;
  for (let index = 0; index < answer.blocks.length; index++) {
    const block = answer.blocks[index] as BlockPlan;
    yield sseEvent("content_block_start", {
      type: "content_block_start",
      index,
      content_block: startBlock(block),
    });
    if (index === 0) yield PING;
    for (const delta of blockDeltas(block)) {
      if (fault && deltas === fault.after) {
        yield error;
        return;
      }
      yield sseEvent("content_block_delta", { type: "content_block_delta", index, delta });
      deltas++;
    }
    yield sseEvent("content_block_stop", { type: "content_block_stop", index });
  }
  if (fault) {
    yield error;
    return;
  }
  const delta: Record<string, unknown> = {
    stop_reason: answer.stopReason,
    stop_sequence: answer.stopSequence,
  };
  if (answer.stopDetails) delta.stop_details = answer.stopDetails;
  yield sseEvent("message_delta", {
    type: "message_delta",
    delta,
    usage: {
      input_tokens: ctx.inputTokens,
      cache_creation_input_tokens: ctx.cacheWrite,
      cache_read_input_tokens: ctx.cacheRead,
      output_tokens: outputTokens(answer),
    },
  });
  yield sseEvent("message_stop", { type: "message_stop" });
}
