// Anthropic stream events → OpenAI `chat.completion.chunk` SSE text, as an explicit state machine
// fed one event at a time (the sidecar and the benchmarks drive it with events directly; stream.ts
// wraps it as a byte stream). Nothing is buffered beyond the event in hand.
import type { ContentDelta, StreamEvent } from "../anthropic/types.ts";
import { codeFromAnthropicType, type ErrorCode, inStreamError, ProxyError } from "../errors.ts";
import type { SseEvent } from "../sse/decode.ts";
import { SSE_DONE } from "../sse/encode.ts";
import { completionId, emptyCounts, finishReason, openaiUsage, readUsage } from "./finish.ts";

export interface StreamOptions {
  /** The model name the client asked for; every chunk echoes it. */
  model: string;
  /** `stream_options.include_usage`. */
  includeUsage: boolean;
  /** Unix seconds for every chunk; defaults to when the converter is created. */
  created?: number;
}

type Json = Record<string, unknown>;

/** What an Anthropic content block (by its index) becomes; server-tool blocks and their deltas are dropped. */
type BlockKind = "text" | "thinking" | "tool" | "ignored";

/**
 * `init`: nothing sent. `started`: `message_start` read, the chunk prefix built, no chunk sent yet
 * (the role chunk waits for the first content block, so it can say `content: null` before a tool
 * call as OpenAI does). `open`: chunks flowing. `done`: `[DONE]` sent. `failed`: an error chunk sent.
 */
type State = "init" | "started" | "open" | "done" | "failed";

export class OpenAIStreamConverter {
  readonly #model: string;
  readonly #includeUsage: boolean;
  readonly #created: number;
  #state: State = "init";
  /** `data: {…"delta":` — everything of a chunk before its delta, built once per stream. */
  #head = "";
  /** Everything after a non-final chunk's delta. */
  #tail = "";
  #id = "";
  readonly #kinds: BlockKind[] = [];
  /** OpenAI tool-call index per Anthropic block index: 0, 1, … in order of tool_use blocks. */
  readonly #toolIndex: number[] = [];
  readonly #argsSent: boolean[] = [];
  readonly #toolInput: unknown[] = [];
  #tools = 0;
  #stopReason: string | null = null;
  readonly #counts = emptyCounts();

  constructor(opts: StreamOptions) {
    this.#model = opts.model;
    this.#includeUsage = opts.includeUsage;
    this.#created = opts.created ?? Math.floor(Date.now() / 1000);
  }

  /** True once the stream has ended, cleanly (`[DONE]` sent) or with an error chunk. */
  get finished(): boolean {
    return this.#state === "done" || this.#state === "failed";
  }

  get failed(): boolean {
    return this.#state === "failed";
  }

  /** One decoded SSE event; its `data` is parsed here, once. */
  pushSse(ev: SseEvent): string {
    if (this.finished) return "";
    let data: unknown;
    try {
      data = JSON.parse(ev.data);
    } catch {
      return this.#fail("internal", "The upstream sent a malformed stream event (invalid JSON).");
    }
    if (typeof data !== "object" || data === null) {
      return this.#fail("internal", "The upstream sent a malformed stream event (not an object).");
    }
    const obj = data as Json;
    // The JSON `type` equals the event name; an event whose JSON lacks it goes by its name.
    if (typeof obj.type !== "string" && ev.event !== undefined) obj.type = ev.event;
    return this.push(obj);
  }

  /**
   * One parsed Anthropic stream event (`message_start`, `content_block_delta`, …). The event comes
   * off the wire, so every field is checked before use; the switch is exhaustive over the event
   * types the API documents, and types newer than this converter are skipped.
   */
  push(event: StreamEvent | Json): string {
    if (this.finished) return "";
    const ev = event as Json;
    const type = ev.type as StreamEvent["type"];
    switch (type) {
      case "content_block_delta":
        return this.#delta(ev);
      case "content_block_start":
        return this.#blockStart(ev);
      case "content_block_stop":
        return this.#blockStop(ev);
      case "message_start": {
        if (this.#state !== "init") return "";
        const message = ev.message as Json | undefined;
        readUsage(this.#counts, message?.usage);
        this.#start(message?.id);
        return "";
      }
      case "message_delta": {
        const reason = (ev.delta as Json | undefined)?.stop_reason;
        if (typeof reason === "string") this.#stopReason = reason;
        readUsage(this.#counts, ev.usage);
        return "";
      }
      case "message_stop":
        return this.#opened(false) + this.#finish();
      case "error": {
        const err = (ev.error ?? {}) as Json;
        const errType = typeof err.type === "string" ? err.type : "api_error";
        const message = typeof err.message === "string" ? err.message : "The upstream reported an error.";
        return this.#fail(codeFromAnthropicType(errType), message);
      }
      case "ping":
        return ""; // keep-alive: nothing for the client
      default: {
        const newer: never = type;
        void newer; // an event type newer than this converter: nothing the client could use
        return "";
      }
    }
  }

  /** The upstream body ended. Without `message_stop` the answer is incomplete: an error chunk. */
  end(): string {
    if (this.finished) return "";
    return this.#fail("upstream_unreachable", "The upstream stream ended before the message was complete.");
  }

  /** Reading the upstream body failed (the connection dropped): an error chunk instead of a reset. */
  abort(): string {
    if (this.finished) return "";
    return this.#fail(
      "upstream_unreachable",
      "The upstream connection was lost before the message was complete.",
    );
  }

  #start(messageId: unknown): void {
    const id = typeof messageId === "string" ? messageId : `msg_${crypto.randomUUID().replaceAll("-", "")}`;
    this.#id = completionId(id);
    this.#head = `data: {"id":${JSON.stringify(this.#id)},"object":"chat.completion.chunk","created":${this.#created},"model":${JSON.stringify(this.#model)},"choices":[{"index":0,"delta":`;
    this.#tail = `,"logprobs":null,"finish_reason":null}]${this.#includeUsage ? ',"usage":null' : ""}}\n\n`;
    this.#state = "started";
  }

  /**
   * The first chunk, with the role, once the first content is known: `content: ""` as OpenAI sends
   * before text, `null` before a tool call. Content before `message_start` (tolerated, as the SDKs
   * do) opens the stream with a fresh id.
   */
  #opened(toolFirst: boolean): string {
    if (this.#state === "open") return "";
    if (this.#state === "init") this.#start(undefined);
    this.#state = "open";
    return `${this.#head}{"role":"assistant","content":${toolFirst ? "null" : '""'},"refusal":null}${this.#tail}`;
  }

  #blockStart(ev: Json): string {
    const i = ev.index;
    const block = ev.content_block as Json | undefined;
    if (typeof i !== "number" || typeof block !== "object" || block === null) return this.#malformed();
    switch (block.type) {
      case "text":
        this.#kinds[i] = "text";
        return (
          this.#opened(false) +
          (typeof block.text === "string" && block.text !== "" ? this.#content(block.text) : "")
        );
      case "thinking": {
        this.#kinds[i] = "thinking";
        let out = this.#opened(false);
        if (typeof block.thinking === "string" && block.thinking !== "")
          out += this.#reasoning(block.thinking);
        if (typeof block.signature === "string" && block.signature !== "")
          out += this.#signature(block.signature);
        return out;
      }
      case "redacted_thinking":
        this.#kinds[i] = "ignored";
        // No text to show, but the block must go back with the next request: as LiteLLM sends it.
        return typeof block.data === "string" && block.data !== ""
          ? `${this.#opened(false)}${this.#head}{"thinking_blocks":[{"type":"redacted_thinking","data":${JSON.stringify(block.data)}}]}${this.#tail}`
          : this.#opened(false);
      case "tool_use": {
        this.#kinds[i] = "tool";
        const index = this.#tools++;
        this.#toolIndex[i] = index;
        this.#argsSent[i] = false;
        this.#toolInput[i] = block.input;
        const call = `{"index":${index},"id":${JSON.stringify(String(block.id))},"type":"function","function":{"name":${JSON.stringify(String(block.name))},"arguments":""}}`;
        return `${this.#opened(true)}${this.#head}{"tool_calls":[${call}]}${this.#tail}`;
      }
      default:
        // server_tool_use, *_tool_result and newer block types ran upstream: not the client's to see.
        this.#kinds[i] = "ignored";
        return this.#opened(false);
    }
  }

  #delta(ev: Json): string {
    const i = ev.index;
    const delta = ev.delta as Json | undefined;
    if (typeof i !== "number" || typeof delta !== "object" || delta === null) return this.#malformed();
    const kind = this.#kinds[i];
    if (kind === "ignored") return "";
    const type = delta.type as ContentDelta["type"];
    switch (type) {
      case "text_delta":
        return typeof delta.text === "string" && delta.text !== ""
          ? this.#opened(false) + this.#content(delta.text)
          : "";
      case "thinking_delta":
        return typeof delta.thinking === "string" && delta.thinking !== ""
          ? this.#opened(false) + this.#reasoning(delta.thinking)
          : "";
      case "signature_delta":
        return kind === "thinking" && typeof delta.signature === "string" && delta.signature !== ""
          ? this.#signature(delta.signature)
          : "";
      case "input_json_delta": {
        const part = delta.partial_json;
        if (kind !== "tool" || typeof part !== "string" || part === "") return "";
        this.#argsSent[i] = true;
        return `${this.#head}{"tool_calls":[{"index":${this.#toolIndex[i]},"function":{"arguments":${JSON.stringify(part)}}}]}${this.#tail}`;
      }
      case "citations_delta":
        return ""; // OpenAI chat completions have no citations; the cited text itself arrives as text
      default: {
        const newer: never = type;
        void newer; // a delta type newer than this converter
        return "";
      }
    }
  }

  #blockStop(ev: Json): string {
    const i = ev.index;
    if (typeof i !== "number" || this.#kinds[i] !== "tool" || this.#argsSent[i] === true) return "";
    // A tool call whose input arrived whole (or empty) still gets arguments the client can JSON.parse.
    this.#argsSent[i] = true;
    const args = JSON.stringify(this.#toolInput[i] ?? {});
    return `${this.#head}{"tool_calls":[{"index":${this.#toolIndex[i]},"function":{"arguments":${JSON.stringify(args)}}}]}${this.#tail}`;
  }

  #content(text: string): string {
    return `${this.#head}{"content":${JSON.stringify(text)}}${this.#tail}`;
  }

  /**
   * Thinking text twice, as LiteLLM streams it: `reasoning_content` for display, and a
   * `thinking_blocks` fragment that LiteLLM-style accumulators join (text fragments, then the
   * signature) into the signed block the client sends back with the next turn.
   */
  #reasoning(text: string): string {
    const t = JSON.stringify(text);
    return `${this.#head}{"reasoning_content":${t},"thinking_blocks":[{"type":"thinking","thinking":${t},"signature":""}]}${this.#tail}`;
  }

  #signature(signature: string): string {
    return `${this.#head}{"thinking_blocks":[{"type":"thinking","thinking":"","signature":${JSON.stringify(signature)}}]}${this.#tail}`;
  }

  #finish(): string {
    this.#state = "done";
    let reason = finishReason(this.#stopReason);
    if (reason === "tool_calls" && this.#tools === 0) reason = "stop"; // only server tools ran
    let out = `${this.#head}{},"logprobs":null,"finish_reason":"${reason}"}]${this.#includeUsage ? ',"usage":null' : ""}}\n\n`;
    if (this.#includeUsage) {
      const chunk = {
        id: this.#id,
        object: "chat.completion.chunk",
        created: this.#created,
        model: this.#model,
        choices: [],
        usage: openaiUsage(this.#counts),
      };
      out += `data: ${JSON.stringify(chunk)}\n\n`;
    }
    return out + SSE_DONE;
  }

  #malformed(): string {
    return this.#fail("internal", "The upstream sent a malformed stream event.");
  }

  /** OpenAI SDKs raise on a `data:` line with `error`; no `[DONE]` follows, the stream just ends. */
  #fail(code: ErrorCode, message: string): string {
    this.#state = "failed";
    return inStreamError("openai", new ProxyError(code, message));
  }
}
