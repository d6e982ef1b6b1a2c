// What the mock "model" says, independent of how it is delivered: content blocks, the stop reason and
// the token counts. The stream renderer and the non-streaming renderer both start from an Answer, so a
// streamed and a non-streamed reply to the same request agree block for block and token for token.
import type { StopReason } from "../shared/anthropic/types.ts";
import { estimateTokens } from "./tokens.ts";

export interface TextBlockPlan {
  type: "text";
  text: string;
  /** Words per text_delta event (default 2). */
  wordsPerDelta?: number;
}

export interface ToolUseBlockPlan {
  type: "tool_use";
  id: string;
  name: string;
  input: Record<string, unknown>;
}

export interface ThinkingBlockPlan {
  type: "thinking";
  thinking: string;
  signature: string;
}

export type BlockPlan = TextBlockPlan | ToolUseBlockPlan | ThinkingBlockPlan;

export interface Answer {
  blocks: BlockPlan[];
  stopReason: StopReason;
  stopSequence: string | null;
  /** Sent beside stop_reason when set (the API's refusal details). */
  stopDetails?: Record<string, unknown>;
}

/** Output tokens of an answer: ceil(chars / 4) over text, thinking and tool input JSON, at least 1. */
export function outputTokens(answer: Answer): number {
  let chars = 0;
  for (const block of answer.blocks) {
    if (block.type === "text") chars += block.text.length;
    else if (block.type === "thinking") chars += block.thinking.length;
    else chars += JSON.stringify(block.input).length;
  }
  return Math.max(1, estimateTokens(chars));
}

/**
 * Word-ish pieces (each a few words with their leading whitespace) that concatenate back to the text.
 * Lazy, so a `long` answer of a million words is never held as a million strings.
 */
export function* splitWords(text: string, wordsPerPiece = 2): Generator<string> {
  const word = /\s*\S+/g;
  let start = 0;
  let count = 0;
  let pending: string | undefined;
  for (let m = word.exec(text); m !== null; m = word.exec(text)) {
    if (++count < wordsPerPiece) continue;
    if (pending !== undefined) yield pending;
    pending = text.slice(start, word.lastIndex);
    start = word.lastIndex;
    count = 0;
  }
  const rest = text.slice(start);
  if (count > 0) {
    // An incomplete last group of words is a piece of its own.
    if (pending !== undefined) yield pending;
    yield rest;
  } else {
    // Trailing whitespace joins the last piece.
    const last = (pending ?? "") + rest;
    if (last !== "") yield last;
  }
}

/** Fragments of a JSON text as input_json_delta carries them: "" first, then small slices. */
export function jsonFragments(json: string, size = 12): string[] {
  const out = [""];
  let i = 0;
  while (i < json.length) {
    let end = Math.min(i + size, json.length);
    // Never split a surrogate pair across two events.
    const last = json.charCodeAt(end - 1);
    if (end < json.length && last >= 0xd800 && last <= 0xdbff) end++;
    out.push(json.slice(i, end));
    i = end;
  }
  return out;
}
