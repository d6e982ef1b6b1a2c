// Anthropic stream events → OpenAI `chat.completion.chunk` SSE text, as an explicit state machine
// fed one event at a time (the sidecar and the benchmarks drive it with events directly; stream.ts
// wraps it as a byte stream). Nothing is buffered beyond the event in hand.
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

// Anthropic content block kinds, by block index. Server-tool blocks and their deltas are ignored.
const IGNORED = 0;
const TEXT = 1;
const THINKING = 2;
const TOOL = 3;

// Converter states.
const INIT = 0;
const OPEN = 1;
const DONE = 2;
const FAILED = 3;

export class OpenAIStreamConverter {
  readonly #model: string;
  readonly #includeUsage: boolean;
  readonly #created: number;
  #state = INIT;
  /** `data: {…"delta":` — everything of a chunk before its delta, built once per stream. */
  #head = "";
  /** Everything after a non-final chunk's delta. */
  #tail = "";
  #id = "";
  readonly #kinds: number[] = [];
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
    return this.#state >= DONE;
  }

  get failed(): boolean {
    return this.#state === FAILED;
  }

  /** One decoded SSE event; its `data` is parsed here, once. */
  pushSse(ev: SseEvent): string {
    if (this.#state >= DONE) return "";
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

  /** One parsed Anthropic stream event (`message_start`, `content_block_delta`, …). */
  push(ev: Json): string {
    if (this.#state >= DONE) return "";
    switch (ev.type) {
      case "content_block_delta":
        return this.#delta(ev);
      case "content_block_start":
        return this.#opened() + this.#blockStart(ev);
      case "content_block_stop":
        return this.#blockStop(ev);
      case "message_start":
        if (this.#state !== INIT) return "";
        readUsage(this.#counts, (ev.message as Json | undefined)?.usage);
        return this.#open((ev.message as Json | undefined)?.id);
      case "message_delta": {
        const reason = (ev.delta as Json | undefined)?.stop_reason;
        if (typeof reason === "string") this.#stopReason = reason;
        readUsage(this.#counts, ev.usage);
        return this.#opened();
      }
      case "message_stop":
        return this.#opened() + this.#finish();
      case "error": {
        const err = (ev.error ?? {}) as Json;
        const type = typeof err.type === "string" ? err.type : "api_error";
        const message = typeof err.message === "string" ? err.message : "The upstream reported an error.";
        return this.#fail(codeFromAnthropicType(type), message);
      }
      default:
        return ""; // ping, and event types newer than this converter
    }
  }

  /** The upstream body ended. Without `message_stop` the answer is incomplete: an error chunk. */
  end(): string {
    if (this.#state >= DONE) return "";
    return this.#fail("upstream_unreachable", "The upstream stream ended before the message was complete.");
  }

  #open(messageId: unknown): string {
    const id = typeof messageId === "string" ? messageId : `msg_${crypto.randomUUID().replaceAll("-", "")}`;
    this.#id = completionId(id);
    this.#head = `data: {"id":${JSON.stringify(this.#id)},"object":"chat.completion.chunk","created":${this.#created},"model":${JSON.stringify(this.#model)},"choices":[{"index":0,"delta":`;
    this.#tail = `,"logprobs":null,"finish_reason":null}]${this.#includeUsage ? ',"usage":null' : ""}}\n\n`;
    this.#state = OPEN;
    return `${this.#head}{"role":"assistant","content":""}${this.#tail}`;
  }

  /** Content before `message_start` (tolerated, as the SDKs do) opens the stream with a fresh id. */
  #opened(): string {
    return this.#state === INIT ? this.#open(undefined) : "";
  }

  #blockStart(ev: Json): string {
    const i = ev.index;
    const block = ev.content_block as Json | undefined;
    if (typeof i !== "number" || typeof block !== "object" || block === null) return this.#malformed();
    switch (block.type) {
      case "text":
        this.#kinds[i] = TEXT;
        return typeof block.text === "string" && block.text !== "" ? this.#content(block.text) : "";
      case "thinking":
        this.#kinds[i] = THINKING;
        return typeof block.thinking === "string" && block.thinking !== ""
          ? this.#reasoning(block.thinking)
          : "";
      case "tool_use": {
        this.#kinds[i] = TOOL;
        const index = this.#tools++;
        this.#toolIndex[i] = index;
        this.#argsSent[i] = false;
        this.#toolInput[i] = block.input;
        const call = `{"index":${index},"id":${JSON.stringify(String(block.id))},"type":"function","function":{"name":${JSON.stringify(String(block.name))},"arguments":""}}`;
        return `${this.#head}{"tool_calls":[${call}]}${this.#tail}`;
      }
      default:
        this.#kinds[i] = IGNORED; // redacted_thinking, server_tool_use, *_tool_result, newer types
        return "";
    }
  }

  #delta(ev: Json): string {
    const i = ev.index;
    const delta = ev.delta as Json | undefined;
    if (typeof i !== "number" || typeof delta !== "object" || delta === null) return this.#malformed();
    const kind = this.#kinds[i];
    if (kind === IGNORED) return "";
    switch (delta.type) {
      case "text_delta":
        return typeof delta.text === "string" && delta.text !== ""
          ? this.#opened() + this.#content(delta.text)
          : "";
      case "thinking_delta":
        return typeof delta.thinking === "string" && delta.thinking !== ""
          ? this.#opened() + this.#reasoning(delta.thinking)
          : "";
      case "input_json_delta": {
        const part = delta.partial_json;
        if (kind !== TOOL || typeof part !== "string" || part === "") return "";
        this.#argsSent[i] = true;
        return `${this.#head}{"tool_calls":[{"index":${this.#toolIndex[i]},"function":{"arguments":${JSON.stringify(part)}}}]}${this.#tail}`;
      }
      default:
        return ""; // signature_delta, citations_delta, newer delta types
    }
  }

  #blockStop(ev: Json): string {
    const i = ev.index;
    if (typeof i !== "number" || this.#kinds[i] !== TOOL || this.#argsSent[i] === true) return "";
    // A tool call whose input arrived whole (or empty) still gets arguments the client can JSON.parse.
    this.#argsSent[i] = true;
    const args = JSON.stringify(this.#toolInput[i] ?? {});
    return `${this.#head}{"tool_calls":[{"index":${this.#toolIndex[i]},"function":{"arguments":${JSON.stringify(args)}}}]}${this.#tail}`;
  }

  #content(text: string): string {
    return `${this.#head}{"content":${JSON.stringify(text)}}${this.#tail}`;
  }

  #reasoning(text: string): string {
    return `${this.#head}{"reasoning_content":${JSON.stringify(text)}}${this.#tail}`;
  }

  #finish(): string {
    this.#state = DONE;
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
    this.#state = FAILED;
    return inStreamError("openai", new ProxyError(code, message));
  }
}
