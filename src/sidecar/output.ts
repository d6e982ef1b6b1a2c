// The answer's events in the client's format: Anthropic SSE as is, OpenAI chunks through the shared
// OpenAIStreamConverter, or (not streaming) one accumulated Message. A failure becomes the format's
// in-stream error, or makes the non-streaming answer an error.
import type { ContentBlock, Message, OtherBlock, StreamEvent } from "../shared/anthropic/types.ts";
import { OpenAIStreamConverter } from "../shared/convert/stream-converter.ts";
import { anthropicErrorBody, inStreamError, type ProxyError, type WireFormat } from "../shared/errors.ts";
import { sseEvent } from "../shared/sse/encode.ts";
import type { OutEvent } from "./execution.ts";

/** Turns events into SSE text for one response. */
export interface SseEncoder {
  encode(ev: OutEvent): string;
  /** A keep-alive while the agent works without output (a tool running). */
  heartbeat(): string;
  /** Whatever the format needs when the events ran out (OpenAI: an error chunk if the answer is incomplete). */
  end(): string;
}

export function sseEncoder(
  format: WireFormat,
  opts: { requestId: string; clientModel: string; includeUsage: boolean },
): SseEncoder {
  if (format === "anthropic") {
    return {
      encode: (ev) =>
        ev.type === "failure" ? inStreamError("anthropic", ev.error, opts.requestId) : sseEvent(ev.type, ev),
      heartbeat: () => sseEvent("ping", { type: "ping" }),
      end: () => "",
    };
  }
  const converter = new OpenAIStreamConverter({ model: opts.clientModel, includeUsage: opts.includeUsage });
  return {
    encode: (ev) =>
      ev.type === "failure"
        ? converter.push({ type: "error", error: anthropicErrorBody(ev.error).error })
        : converter.push(ev as unknown as Record<string, unknown>),
    // An SSE comment: every SSE parser skips it, OpenAI's included.
    heartbeat: () => ": ping\n\n",
    end: () => converter.end(),
  };
}

/** Builds the whole Message from the events, as a client's stream accumulator would. */
export class MessageAccumulator {
  #message: Message | undefined;
  #error: ProxyError | undefined;

  push(ev: OutEvent): void {
    switch (ev.type) {
      case "failure":
        this.#error = ev.error;
        return;
      case "message_start":
        this.#message = { ...ev.message, content: [], usage: { ...ev.message.usage } };
        return;
      default:
        this.#apply(ev);
    }
  }

  get error(): ProxyError | undefined {
    return this.#error;
  }

  get message(): Message | undefined {
    return this.#message;
  }

  #apply(ev: StreamEvent): void {
    const m = this.#message;
    if (m === undefined) return;
    switch (ev.type) {
      case "content_block_start":
        m.content[ev.index] = { ...ev.content_block } as ContentBlock | OtherBlock;
        return;
      case "content_block_delta": {
        const block = m.content[ev.index] as Record<string, unknown> | undefined;
        if (block === undefined) return;
        const d = ev.delta as Record<string, unknown>;
        if (d.type === "text_delta") block.text = String(block.text ?? "") + String(d.text);
        else if (d.type === "thinking_delta")
          block.thinking = String(block.thinking ?? "") + String(d.thinking);
        else if (d.type === "signature_delta") block.signature = String(d.signature);
        return;
      }
      case "message_delta":
        m.stop_reason = ev.delta.stop_reason;
        m.stop_sequence = ev.delta.stop_sequence;
        m.usage = { ...m.usage, ...ev.usage } as Message["usage"];
        return;
      default:
        return;
    }
  }
}
