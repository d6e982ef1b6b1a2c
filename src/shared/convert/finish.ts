// Shared by the response and stream converters: Anthropic `stop_reason` → OpenAI `finish_reason`,
// Anthropic usage → OpenAI usage, and the completion id.
import type { StopReason } from "../anthropic/types.ts";
import type { CompletionUsage, FinishReason } from "../openai/types.ts";

/**
 * Exhaustive over Anthropic's stop reasons. `pause_turn` (a server-tool turn Anthropic paused) has
 * no OpenAI counterpart and the text so far is complete, so `stop`. `model_context_window_exceeded`
 * means generation was cut by a token limit, which OpenAI reports as `length`.
 */
export function finishReason(stop: string | null | undefined): FinishReason {
  const reason = stop as StopReason | null | undefined;
  switch (reason) {
    case "end_turn":
    case "stop_sequence":
    case "pause_turn":
      return "stop";
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length";
    case "tool_use":
      return "tool_calls";
    case "refusal":
      return "content_filter";
    case null:
    case undefined:
      return "stop";
    default: {
      const unknown: never = reason;
      void unknown; // a stop reason newer than this table: the turn ended, so `stop`
      return "stop";
    }
  }
}

/** Anthropic's counters as they stand; each may be absent in a given event. */
export interface UsageCounts {
  input: number;
  cacheRead: number;
  cacheCreation: number;
  output: number;
  /** `output_tokens_details.thinking_tokens`, when Anthropic reports it. */
  thinking: number | undefined;
}

export function emptyCounts(): UsageCounts {
  return { input: 0, cacheRead: 0, cacheCreation: 0, output: 0, thinking: undefined };
}

function num(v: unknown): number | undefined {
  return typeof v === "number" ? v : undefined;
}

/**
 * Overwrites counts with whatever `usage` carries (Anthropic's counts are cumulative, never deltas).
 * `message_delta` repeats the input counters in 2025+ streams, larger than `message_start`'s when
 * server tools fed results back in; those are the billed totals.
 */
export function readUsage(counts: UsageCounts, usage: unknown): void {
  if (typeof usage !== "object" || usage === null) return;
  const u = usage as Record<string, unknown>;
  counts.input = num(u.input_tokens) ?? counts.input;
  counts.cacheRead = num(u.cache_read_input_tokens) ?? counts.cacheRead;
  counts.cacheCreation = num(u.cache_creation_input_tokens) ?? counts.cacheCreation;
  counts.output = num(u.output_tokens) ?? counts.output;
  const details = u.output_tokens_details;
  if (typeof details === "object" && details !== null) {
    counts.thinking = num((details as Record<string, unknown>).thinking_tokens) ?? counts.thinking;
  }
}

/** OpenAI's `prompt_tokens` includes cached input; Anthropic's `input_tokens` does not. */
export function openaiUsage(c: UsageCounts): CompletionUsage {
  const prompt = c.input + c.cacheRead + c.cacheCreation;
  const usage: CompletionUsage = {
    prompt_tokens: prompt,
    completion_tokens: c.output,
    total_tokens: prompt + c.output,
    prompt_tokens_details: { cached_tokens: c.cacheRead },
  };
  if (c.thinking !== undefined) usage.completion_tokens_details = { reasoning_tokens: c.thinking };
  return usage;
}

/** `msg_01Abc` → `chatcmpl-01Abc`: stable per upstream message, so logs can be matched. */
export function completionId(messageId: string): string {
  return `chatcmpl-${messageId.startsWith("msg_") ? messageId.slice(4) : messageId}`;
}
