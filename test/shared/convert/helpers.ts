// Test support for the conversion tests: the recorded fixtures, byte splitting, running the stream
// converter, parsing its OpenAI SSE output, and reassembling an Anthropic stream independently.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { SseParser } from "../../../src/shared/sse/decode.ts";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

/** The recorded API captures kept in the repo (provenance in test/fixtures/recorded/SOURCES.md). */
export const FIXTURES = resolve(repoRoot, "test/fixtures/recorded");

function fixturePath(name: string): string {
  return resolve(FIXTURES, name);
}

export function fixtureText(name: string): string {
  return readFileSync(fixturePath(name), "utf8");
}

export function fixtureBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(fixturePath(name)));
}

export function fixtureJson<T = unknown>(name: string): T {
  return JSON.parse(fixtureText(name)) as T;
}

/** Deterministic PRNG (mulberry32) so "random" splits reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function splitEvery(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

export function splitRandom(bytes: Uint8Array, seed: number, max = 64): Uint8Array[] {
  const next = rng(seed);
  const out: Uint8Array[] = [];
  let i = 0;
  while (i < bytes.length) {
    const n = 1 + Math.floor(next() * max);
    out.push(bytes.subarray(i, i + n));
    i += n;
  }
  return out;
}

/** CRLF line ends, cut so that every `\r` ends one chunk and its `\n` starts the next. */
export function splitCrlf(text: string): Uint8Array[] {
  const crlf = new TextEncoder().encode(text.replace(/\r?\n/g, "\r\n"));
  const out: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < crlf.length; i++) {
    if (crlf[i] === 13) {
      out.push(crlf.subarray(start, i + 1));
      start = i + 1;
    }
  }
  if (start < crlf.length) out.push(crlf.subarray(start));
  return out;
}

/** A pull-based source over fixed chunks. */
export function sourceOf(chunks: readonly Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[i++];
      if (chunk === undefined) controller.close();
      else controller.enqueue(chunk);
    },
  });
}

export async function readAllText(stream: ReadableStream<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let out = "";
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return out + decoder.decode();
    out += decoder.decode(value, { stream: true });
  }
}

// biome-ignore lint/suspicious/noExplicitAny: parsed wire JSON inspected field by field in assertions
export type AnyJson = any;

export interface OpenAISse {
  /** Every `data:` payload except `[DONE]`, parsed. */
  chunks: AnyJson[];
  /** Raw data lines in order, `[DONE]` included. */
  data: string[];
  done: boolean;
}

export function parseOpenAISse(text: string): OpenAISse {
  const p = new SseParser();
  const events = [...p.push(text), ...p.end()];
  const data = events.map((e) => e.data);
  return {
    chunks: data.filter((d) => d !== "[DONE]").map((d) => JSON.parse(d)),
    data,
    done: data[data.length - 1] === "[DONE]",
  };
}

/** What an Anthropic SSE fixture says, reassembled without the converter under test. */
export interface AnthropicSummary {
  messageId: string | undefined;
  text: string;
  thinking: string;
  tools: Array<{ id: string; name: string; input: unknown }>;
  stopReason: string | null;
  usage: Record<string, number>;
  error: { type: string; message: string } | undefined;
  /**
   * What the client should see, in Anthropic block order: `reasoning` (thinking text or signature),
   * `redacted`, `content` (non-empty text) and `tool <k>` (the k-th tool_use), consecutive repeats
   * collapsed.
   */
  order: string[];
  /** The signed thinking and redacted_thinking blocks, whole, as a client must send them back. */
  thinkingBlocks: AnyJson[];
  /** The type of the first content block, if any. */
  firstBlock: string | undefined;
}

/** Appends `kind` unless it repeats the last entry. */
export function pushKind(order: string[], kind: string): void {
  if (order[order.length - 1] !== kind) order.push(kind);
}

export function summarizeAnthropic(sse: string): AnthropicSummary {
  const p = new SseParser();
  const events = [...p.push(sse), ...p.end()].map((e) => JSON.parse(e.data) as AnyJson);
  const s: AnthropicSummary = {
    messageId: undefined,
    text: "",
    thinking: "",
    tools: [],
    stopReason: null,
    usage: {},
    error: undefined,
    order: [],
    thinkingBlocks: [],
    firstBlock: undefined,
  };
  const blocks = new Map<number, { type: string; json: string; start: AnyJson; tool: number }>();
  let tools = 0;
  for (const ev of events) {
    switch (ev.type) {
      case "message_start":
        s.messageId = ev.message.id;
        Object.assign(s.usage, numbers(ev.message.usage));
        break;
      case "content_block_start": {
        const cb = ev.content_block;
        s.firstBlock ??= cb.type;
        const tool = cb.type === "tool_use" ? tools++ : -1;
        blocks.set(ev.index, { type: cb.type, json: "", start: { ...cb }, tool });
        if (cb.type === "text") {
          s.text += cb.text;
          if (cb.text !== "") pushKind(s.order, "content");
        }
        if (cb.type === "tool_use") pushKind(s.order, `tool ${tool}`);
        if (cb.type === "redacted_thinking") {
          pushKind(s.order, "redacted");
          s.thinkingBlocks.push({ type: "redacted_thinking", data: cb.data });
        }
        break;
      }
      case "content_block_delta": {
        const b = blocks.get(ev.index);
        if (ev.delta.type === "text_delta" && b?.type === "text") {
          s.text += ev.delta.text;
          if (ev.delta.text !== "") pushKind(s.order, "content");
        }
        if (ev.delta.type === "thinking_delta") {
          s.thinking += ev.delta.thinking;
          if (b) b.start.thinking += ev.delta.thinking;
          if (ev.delta.thinking !== "") pushKind(s.order, "reasoning");
        }
        if (ev.delta.type === "signature_delta" && b) {
          b.start.signature = ev.delta.signature;
          pushKind(s.order, "reasoning");
        }
        if (ev.delta.type === "input_json_delta" && b) b.json += ev.delta.partial_json;
        break;
      }
      case "content_block_stop": {
        const b = blocks.get(ev.index);
        if (b?.type === "thinking") {
          s.thinkingBlocks.push({
            type: "thinking",
            thinking: b.start.thinking,
            signature: b.start.signature,
          });
        }
        if (b?.type === "tool_use") {
          s.tools.push({
            id: b.start.id,
            name: b.start.name,
            input: b.json === "" ? b.start.input : JSON.parse(b.json),
          });
        }
        break;
      }
      case "message_delta":
        s.stopReason = ev.delta.stop_reason;
        Object.assign(s.usage, numbers(ev.usage));
        if (ev.usage.output_tokens_details)
          s.usage.thinking_tokens = ev.usage.output_tokens_details.thinking_tokens;
        break;
      case "error":
        s.error = ev.error;
        break;
    }
  }
  return s;
}

function numbers(o: AnyJson): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(o ?? {})) if (typeof v === "number") out[k] = v;
  return out;
}

/**
 * The Messages API's structural rules for a request body, as far as a converter can break them.
 * Returns the problems found (empty when the request is valid).
 */
export function anthropicRequestProblems(body: AnyJson): string[] {
  const problems: string[] = [];
  const fail = (p: string) => problems.push(p);
  if (typeof body.model !== "string" || body.model === "") fail("model");
  if (!Number.isInteger(body.max_tokens) || body.max_tokens < 1) fail("max_tokens");
  if (!Array.isArray(body.messages) || body.messages.length === 0) return [...problems, "messages empty"];
  if (body.messages[0].role !== "user") fail("first message is not user");
  let previous: AnyJson;
  body.messages.forEach((m: AnyJson, i: number) => {
    if (m.role !== "user" && m.role !== "assistant") fail(`messages[${i}].role`);
    if (previous && previous.role === m.role) fail(`messages[${i}] repeats role ${m.role}`);
    if (!Array.isArray(m.content) || m.content.length === 0) fail(`messages[${i}].content empty`);
    let seenNonResult = false;
    const priorToolUses = new Set<string>(
      (previous?.content ?? []).filter((b: AnyJson) => b.type === "tool_use").map((b: AnyJson) => b.id),
    );
    for (const b of m.content ?? []) {
      if (b.type === "text" && (typeof b.text !== "string" || b.text === ""))
        fail(`messages[${i}] empty text`);
      if (b.type === "thinking" || b.type === "redacted_thinking") {
        if (m.role !== "assistant") fail(`messages[${i}] ${b.type} outside assistant`);
        if (b.type === "thinking" && (typeof b.signature !== "string" || b.signature === ""))
          fail(`messages[${i}] unsigned thinking block`);
        if (b.type === "redacted_thinking" && (typeof b.data !== "string" || b.data === ""))
          fail(`messages[${i}] redacted_thinking without data`);
      }
      if (b.type === "tool_use") {
        if (m.role !== "assistant") fail(`messages[${i}] tool_use outside assistant`);
        if (!/^[a-zA-Z0-9_-]+$/.test(b.id)) fail(`messages[${i}] tool_use id ${b.id}`);
        if (typeof b.input !== "object" || b.input === null || Array.isArray(b.input))
          fail(`messages[${i}] tool input`);
      }
      if (b.type === "tool_result") {
        if (m.role !== "user") fail(`messages[${i}] tool_result outside user`);
        if (seenNonResult) fail(`messages[${i}] tool_result after other content`);
        if (!priorToolUses.has(b.tool_use_id))
          fail(`messages[${i}] tool_result ${b.tool_use_id} has no tool_use before it`);
      } else seenNonResult = true;
    }
    previous = m;
  });
  if (body.system !== undefined) {
    if (!Array.isArray(body.system)) fail("system is not a block list");
    for (const b of body.system ?? []) if (b.type !== "text" || b.text === "") fail("system block");
  }
  if (body.thinking?.type === "enabled") {
    if (body.thinking.budget_tokens < 1024) fail("budget_tokens < 1024");
    if (body.thinking.budget_tokens >= body.max_tokens) fail("budget_tokens >= max_tokens");
  }
  const last = body.messages[body.messages.length - 1];
  const answered = body.messages[body.messages.length - 2];
  const isThinking = (b: AnyJson) => b?.type === "thinking" || b?.type === "redacted_thinking";
  // "When `thinking` is enabled, a final `assistant` message must start with a thinking block
  // (preceeding the lastmost set of `tool_use` and `tool_result` blocks)." Adaptive thinking may
  // skip thinking on any step, so only budget thinking is held to it.
  if (
    body.thinking?.type === "enabled" &&
    last?.role === "user" &&
    (last.content ?? []).some((b: AnyJson) => b.type === "tool_result") &&
    !isThinking(answered?.content?.[0])
  )
    fail("thinking enabled, but the assistant turn the tool results answer does not start with thinking");
  // "When thinking is disabled, an `assistant` message in the final position cannot contain `thinking`."
  if (
    (body.thinking === undefined || body.thinking.type === "disabled") &&
    last?.role === "assistant" &&
    (last.content ?? []).some(isThinking)
  )
    fail("thinking disabled, but the final assistant message contains thinking");
  if (body.thinking && body.thinking.type !== "disabled") {
    if (body.temperature !== undefined) fail("temperature with thinking");
    if (body.top_k !== undefined) fail("top_k with thinking");
    if (body.tool_choice?.type === "any" || body.tool_choice?.type === "tool")
      fail("forced tool with thinking");
  }
  if (body.temperature !== undefined && (body.temperature < 0 || body.temperature > 1))
    fail("temperature range");
  for (const s of body.stop_sequences ?? []) if (s.trim() === "") fail("whitespace stop sequence");
  if (body.tool_choice !== undefined && !Array.isArray(body.tools)) fail("tool_choice without tools");
  return problems;
}
