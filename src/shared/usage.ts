// Reading usage off an Anthropic response as it passes: `message_start` and the last `message_delta`
// of a stream, or the JSON body's `usage`. The tap hands every chunk on before it looks at it, reads
// only on demand (pull), and reports once — when the stream ends, fails or is cancelled by the client.
// A stream that ends before its final `message_delta` (client gone, upstream dropped, in-stream error)
// reports only message_start's output count (1), so the tap also counts the characters streamed
// (text, thinking, tool-input JSON) and reports at least their token estimate, flagged as estimated.

import { tokensForChars } from "./estimate.ts";
import { emptyUsage, type TokenUsage } from "./pricing.ts";
import { SseParser } from "./sse/decode.ts";

export type Outcome = "complete" | "aborted" | "error";

export interface UsageSummary {
  usage: TokenUsage;
  /** The model the upstream says answered (message_start / JSON `model`). */
  model: string | null;
  stopReason: string | null;
  /** `error.type` of an error body or an in-stream `event: error`. */
  errorType: string | null;
  /** ms from the tap's start to its first chunk; null when no byte arrived. */
  ttfbMs: number | null;
  durationMs: number;
  outcome: Outcome;
  /** True when output_tokens is (at least partly) CCProxy's estimate: the stream ended before its usage. */
  estimated: boolean;
}

/** `error_type` recorded when the upstream connection broke mid-body (no error event to name it). */
export const CONNECTION_LOST = "connection_lost";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

/** Overwrites (never adds) the fields the API reported: stream usage counts are cumulative. */
export function applyUsage(into: TokenUsage, u: unknown): void {
  if (!isObj(u)) return;
  into.input_tokens = num(u.input_tokens) ?? into.input_tokens;
  into.output_tokens = num(u.output_tokens) ?? into.output_tokens;
  into.cache_creation_input_tokens = num(u.cache_creation_input_tokens) ?? into.cache_creation_input_tokens;
  into.cache_read_input_tokens = num(u.cache_read_input_tokens) ?? into.cache_read_input_tokens;
  if (isObj(u.cache_creation)) {
    const m5 = num(u.cache_creation.ephemeral_5m_input_tokens);
    const h1 = num(u.cache_creation.ephemeral_1h_input_tokens);
    if (m5 !== undefined) into.cache_creation_5m = m5;
    if (h1 !== undefined) into.cache_creation_1h = h1;
  }
  if (isObj(u.server_tool_use)) {
    const searches = num(u.server_tool_use.web_search_requests);
    if (searches !== undefined) into.web_search_requests = searches;
  }
}

/** Accumulates usage from Anthropic stream events or a JSON body. */
export class UsageReader {
  readonly usage: TokenUsage = emptyUsage();
  model: string | null = null;
  stopReason: string | null = null;
  errorType: string | null = null;
  /** A stream's message_start was seen (its usage has input; output is a placeholder until the end). */
  started = false;
  /** The stream's message_delta was seen: its usage is final. */
  finalUsage = false;
  /** Characters of text, thinking and tool-input JSON streamed so far. */
  streamedChars = 0;

  /** One parsed stream event (its `data` already JSON-decoded). */
  event(data: unknown): void {
    if (!isObj(data)) return;
    switch (data.type) {
      case "message_start":
        this.started = true;
        if (isObj(data.message)) {
          if (typeof data.message.model === "string") this.model = data.message.model;
          applyUsage(this.usage, data.message.usage);
        }
        break;
      case "content_block_delta":
        if (isObj(data.delta)) this.streamedChars += deltaChars(data.delta);
        break;
      case "message_delta":
        this.finalUsage = true;
        applyUsage(this.usage, data.usage);
        if (isObj(data.delta) && typeof data.delta.stop_reason === "string")
          this.stopReason = data.delta.stop_reason;
        break;
      case "error":
        if (isObj(data.error) && typeof data.error.type === "string") this.errorType = data.error.type;
        break;
      default:
        break;
    }
  }

  /**
   * Output tokens as far as they can be known: the reported count, or — for a stream that ended
   * before its final usage — at least the estimate of what was streamed.
   */
  settleOutput(): { estimated: boolean } {
    if (!this.started || this.finalUsage) return { estimated: false };
    this.usage.output_tokens = Math.max(this.usage.output_tokens, tokensForChars(this.streamedChars));
    return { estimated: true };
  }

  /** A whole JSON response body: a Message or an error. */
  body(data: unknown): void {
    if (!isObj(data)) return;
    if (data.type === "message") {
      if (typeof data.model === "string") this.model = data.model;
      if (typeof data.stop_reason === "string") this.stopReason = data.stop_reason;
      applyUsage(this.usage, data.usage);
    } else if (data.type === "error") {
      this.event(data);
    } else if (isObj(data.error) && typeof data.error.type === "string") {
      this.errorType = data.error.type;
    }
  }
}

/** Characters a content_block_delta streamed: the text, thinking or tool-input JSON it carries. */
function deltaChars(delta: Obj): number {
  switch (delta.type) {
    case "text_delta":
      return typeof delta.text === "string" ? delta.text.length : 0;
    case "thinking_delta":
      return typeof delta.thinking === "string" ? delta.thinking.length : 0;
    case "input_json_delta":
      return typeof delta.partial_json === "string" ? delta.partial_json.length : 0;
    default:
      return 0; // signature_delta, citations: not output tokens
  }
}

/** Only these stream events carry usage, output or errors; the others are not parsed at all. */
const USAGE_EVENTS = new Set(["message_start", "content_block_delta", "message_delta", "error"]);
const MAX_JSON_BYTES = 8 * 1024 * 1024;

export interface TapOptions {
  contentType: string | null;
  /** Called exactly once with what was seen, however the stream ended. */
  onDone: (summary: UsageSummary) => void;
  /** Clock origin for ttfb/duration (ms, performance.now() or Date.now()); default: when the tap is made. */
  startedAt?: number;
}

/**
 * The body, unchanged, with usage read on the side. Pull-based: nothing is read from the upstream
 * before the client asks for it, and a client cancel cancels the upstream.
 */
export function tapUsage(body: ReadableStream<Uint8Array>, opts: TapOptions): ReadableStream<Uint8Array> {
  const startedAt = opts.startedAt ?? Date.now();
  const reader = new UsageReader();
  const type = opts.contentType?.toLowerCase() ?? "";
  const sse = type.startsWith("text/event-stream") ? new SseParser() : null;
  const json = type.includes("json") ? ([] as Uint8Array[]) : null;
  let jsonBytes = 0;
  const decoder = new TextDecoder();
  let ttfbMs: number | null = null;
  let done = false;

  const observe = (chunk: Uint8Array) => {
    if (sse) {
      for (const ev of sse.push(decoder.decode(chunk, { stream: true }))) {
        if (ev.event !== undefined && !USAGE_EVENTS.has(ev.event)) continue;
        try {
          reader.event(JSON.parse(ev.data));
        } catch {
          // not JSON: nothing to count, and the client gets the bytes regardless
        }
      }
    } else if (json && jsonBytes <= MAX_JSON_BYTES) {
      jsonBytes += chunk.byteLength;
      json.push(chunk);
    }
  };

  const finish = (outcome: Outcome) => {
    if (done) return;
    done = true;
    if (json && jsonBytes <= MAX_JSON_BYTES && outcome === "complete") {
      try {
        const all = new Uint8Array(jsonBytes);
        let at = 0;
        for (const c of json) {
          all.set(c, at);
          at += c.byteLength;
        }
        reader.body(JSON.parse(decoder.decode(all)));
      } catch {
        // not JSON after all
      }
    }
    const { estimated } = reader.settleOutput();
    opts.onDone({
      usage: reader.usage,
      model: reader.model,
      stopReason: reader.stopReason,
      errorType: reader.errorType ?? (outcome === "error" ? CONNECTION_LOST : null),
      ttfbMs,
      durationMs: Date.now() - startedAt,
      outcome,
      estimated,
    });
  };

  const source = body.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let result: Awaited<ReturnType<typeof source.read>>;
        try {
          result = await source.read();
        } catch (e) {
          finish("error");
          controller.error(e);
          return;
        }
        if (result.done) {
          finish("complete");
          controller.close();
          return;
        }
        if (ttfbMs === null) ttfbMs = Date.now() - startedAt;
        controller.enqueue(result.value);
        observe(result.value);
      },
      async cancel(reason) {
        finish("aborted");
        await source.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
