// OpenAI chat messages → Anthropic `system` blocks plus strictly alternating user/assistant turns:
// system/developer hoisted, tool results grouped first in one user turn, same-role runs merged.
import { z } from "zod";
import type {
  ContentBlock,
  MessageParam,
  RedactedThinkingBlock,
  TextBlock,
  ThinkingBlock,
  ToolResultBlock,
  ToolUseBlock,
} from "../anthropic/types.ts";
import { textBlocks, userBlocks } from "./parts.ts";
import { invalid, parseAt } from "./validate.ts";

export interface ConvertedMessages {
  system: TextBlock[];
  messages: MessageParam[];
}

interface Turn {
  role: "user" | "assistant";
  content: ContentBlock[];
  [k: string]: unknown;
}

/** Anthropic wants a user turn first; a conversation that opens with the assistant gets this one. */
export const OPENING_USER_TEXT = "(conversation start)";

const ROLES = "system, developer, user, assistant, tool, function";
const Message = z.looseObject({ role: z.string() }, { error: "expected a message object" });
const ToolCall = z.looseObject({
  id: z.string().min(1),
  type: z.string().optional(),
  function: z.looseObject({ name: z.string().min(1), arguments: z.string() }),
});
const Assistant = z.looseObject({
  content: z.unknown().optional(),
  tool_calls: z.array(ToolCall).nullish(),
  function_call: z.looseObject({ name: z.string().min(1), arguments: z.string() }).nullish(),
  refusal: z.string().nullish(),
  thinking_blocks: z.array(z.unknown()).nullish(),
});
const ThinkingPart = z.looseObject({ type: z.string() }, { error: "expected a thinking block object" });
const SignedThinking = z.looseObject({
  type: z.literal("thinking"),
  thinking: z.string(),
  signature: z.string().nullish(),
});
const RedactedThinking = z.looseObject({ type: z.literal("redacted_thinking"), data: z.string().min(1) });
const Tool = z.looseObject({ tool_call_id: z.string().min(1), content: z.unknown() });
const FunctionResult = z.looseObject({ name: z.string().min(1), content: z.string().nullish() });

/** Tool ids must match ^[a-zA-Z0-9_-]+$ upstream; the same rewrite on both sides keeps pairs matched. */
export function safeToolId(id: string): string {
  return /^[a-zA-Z0-9_-]+$/.test(id) ? id : id.replace(/[^a-zA-Z0-9_-]/g, "_");
}

export function convertMessages(raw: readonly unknown[]): ConvertedMessages {
  const system: TextBlock[] = [];
  const turns: Turn[] = [];
  /** Legacy `function_call`s carry no id: we mint one and hand it to the next `function` result by name. */
  const pendingFunctionIds = new Map<string, string[]>();

  const push = (role: Turn["role"], content: ContentBlock[]): void => {
    if (content.length === 0) return; // empty turns are dropped; their neighbours then merge
    const last = turns[turns.length - 1];
    if (last !== undefined && last.role === role) last.content.push(...content);
    else turns.push({ role, content });
  };

  for (let i = 0; i < raw.length; i++) {
    const at = `messages[${i}]`;
    const msg = parseAt(Message, raw[i], at);
    switch (msg.role) {
      case "system":
      case "developer":
        // One block per message (or part) keeps each message's text and cache marks apart; `name` is dropped.
        system.push(...textBlocks(msg.content, `${at}.content`));
        break;
      case "user":
        // `name` has no Anthropic counterpart and prefixing it would change the prompt: dropped.
        push("user", userBlocks(msg.content, `${at}.content`));
        break;
      case "assistant":
        push("assistant", assistantBlocks(parseAt(Assistant, msg, at), at, i, pendingFunctionIds));
        break;
      case "tool": {
        const m = parseAt(Tool, msg, at);
        push("user", [toolResult(safeToolId(m.tool_call_id), m.content, `${at}.content`)]);
        break;
      }
      case "function": {
        const m = parseAt(FunctionResult, msg, at);
        const id = pendingFunctionIds.get(m.name)?.shift();
        if (id === undefined) {
          throw invalid(
            `${at}.name`,
            `No earlier assistant function_call named '${m.name}' for this function result.`,
          );
        }
        push("user", [toolResult(id, m.content ?? "", `${at}.content`)]);
        break;
      }
      default:
        throw invalid(`${at}.role`, `Invalid value for '${at}.role': '${msg.role}' is not one of ${ROLES}.`);
    }
  }

  for (const turn of turns) if (turn.role === "user") toolResultsFirst(turn.content);
  trimFinalAssistant(turns);
  if (turns.length === 0) {
    throw invalid("messages", "messages must contain at least one user or assistant message with content.");
  }
  if (turns[0]?.role === "assistant")
    turns.unshift({ role: "user", content: [{ type: "text", text: OPENING_USER_TEXT }] });
  return { system, messages: turns };
}

function assistantBlocks(
  m: z.output<typeof Assistant>,
  at: string,
  index: number,
  pending: Map<string, string[]>,
): ContentBlock[] {
  // Signed thinking (`thinking_blocks`, LiteLLM's field) goes first, as Claude wrote it; a tool
  // loop with thinking on needs it back. `reasoning_content` alone is dropped on purpose: without
  // its signature a thinking block is rejected upstream.
  const out: ContentBlock[] = thinkingBlocks(m.thinking_blocks ?? [], `${at}.thinking_blocks`);
  const text =
    m.content === undefined || m.content === null ? [] : textBlocks(m.content, `${at}.content`, true);
  out.push(...text);
  if (text.length === 0 && typeof m.refusal === "string" && m.refusal !== "")
    out.push({ type: "text", text: m.refusal });
  const calls = m.tool_calls ?? [];
  for (let k = 0; k < calls.length; k++) {
    const call = calls[k];
    if (call === undefined) continue;
    const cat = `${at}.tool_calls[${k}]`;
    if (call.type !== undefined && call.type !== "function") {
      throw invalid(
        `${cat}.type`,
        `Tool call type '${call.type}' is not supported by Claude; only 'function'.`,
      );
    }
    const input = parseArguments(
      call.function.arguments,
      `${cat}.function.arguments`,
      `tool call '${call.id}'`,
    );
    const block: ToolUseBlock = {
      type: "tool_use",
      id: safeToolId(call.id),
      name: call.function.name,
      input,
    };
    out.push(block);
  }
  if (m.function_call) {
    const id = `toolu_fn_${index}`;
    const fc = m.function_call;
    const input = parseArguments(fc.arguments, `${at}.function_call.arguments`, `function_call '${fc.name}'`);
    out.push({ type: "tool_use", id, name: fc.name, input });
    const queue = pending.get(fc.name);
    if (queue) queue.push(id);
    else pending.set(fc.name, [id]);
  }
  return out;
}

/**
 * `thinking_blocks` → Anthropic blocks, unchanged (the signature covers the text). A thinking block
 * without a signature (LiteLLM builds those from `reasoning_content`) cannot be verified upstream
 * and is dropped; an unknown block type is refused.
 */
function thinkingBlocks(
  raw: readonly unknown[],
  param: string,
): Array<ThinkingBlock | RedactedThinkingBlock> {
  const out: Array<ThinkingBlock | RedactedThinkingBlock> = [];
  for (let k = 0; k < raw.length; k++) {
    const at = `${param}[${k}]`;
    const part = parseAt(ThinkingPart, raw[k], at);
    switch (part.type) {
      case "thinking": {
        const b = parseAt(SignedThinking, part, at);
        if (typeof b.signature === "string" && b.signature !== "")
          out.push({ type: "thinking", thinking: b.thinking, signature: b.signature });
        break;
      }
      case "redacted_thinking":
        out.push({ type: "redacted_thinking", data: parseAt(RedactedThinking, part, at).data });
        break;
      default:
        throw invalid(
          `${at}.type`,
          `Thinking block type '${part.type}' is not supported; use 'thinking' or 'redacted_thinking'.`,
        );
    }
  }
  return out;
}

/** A thinking or redacted_thinking block: what Claude signed, and must get back unchanged. */
export function isThinking(block: { type: string } | undefined): boolean {
  return block?.type === "thinking" || block?.type === "redacted_thinking";
}

/**
 * True when the request continues a tool loop (the last turn carries tool results) whose assistant
 * turn does not start with signed thinking. With budget thinking on, Anthropic refuses exactly that:
 * "a final `assistant` message must start with a thinking block (preceeding the lastmost set of
 * `tool_use` and `tool_result` blocks)".
 */
export function toolTurnWithoutThinking(messages: readonly MessageParam[]): boolean {
  const last = messages[messages.length - 1];
  if (last === undefined || last.role !== "user" || typeof last.content === "string") return false;
  if (!last.content.some((b) => b.type === "tool_result")) return false;
  const answered = messages[messages.length - 2];
  if (answered === undefined || typeof answered.content === "string") return true;
  return !isThinking(answered.content[0]);
}

/**
 * With thinking off, "an `assistant` message in the final position cannot contain `thinking`":
 * a prefill that carries thinking blocks loses them (and goes if nothing else is left).
 */
export function dropFinalThinking(messages: MessageParam[]): void {
  const last = messages[messages.length - 1];
  if (last === undefined || last.role !== "assistant" || typeof last.content === "string") return;
  const kept = last.content.filter((b) => !isThinking(b));
  if (kept.length === last.content.length) return;
  if (kept.length === 0) messages.pop();
  else last.content = kept;
}

/** Tool-call arguments are a JSON object in a string; "" means no arguments. */
function parseArguments(args: string, param: string, what: string): Record<string, unknown> {
  if (args.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(args);
  } catch (err) {
    throw invalid(param, `The arguments of ${what} are not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid(param, `The arguments of ${what} must be a JSON object.`);
  }
  return value as Record<string, unknown>;
}

function toolResult(toolUseId: string, content: unknown, param: string): ToolResultBlock {
  const block: ToolResultBlock = { type: "tool_result", tool_use_id: toolUseId };
  if (content === null) return block;
  if (typeof content === "string") {
    if (content !== "") block.content = content;
    return block;
  }
  const blocks = textBlocks(content, param);
  if (blocks.length > 0) block.content = blocks;
  return block;
}

/** "In the user message containing tool results, the tool_result blocks must come FIRST." Stable. */
function toolResultsFirst(content: ContentBlock[]): void {
  let seenOther = false;
  let needed = false;
  for (const b of content) {
    if (b.type === "tool_result") {
      if (seenOther) needed = true;
    } else seenOther = true;
  }
  if (!needed) return;
  const results = content.filter((b) => b.type === "tool_result");
  const rest = content.filter((b) => b.type !== "tool_result");
  content.splice(0, content.length, ...results, ...rest);
}

/** "Final assistant content cannot end with trailing whitespace" (a prefill): trim it. */
function trimFinalAssistant(turns: Turn[]): void {
  const last = turns[turns.length - 1];
  if (last === undefined || last.role !== "assistant") return;
  const tail = last.content[last.content.length - 1];
  if (tail === undefined || tail.type !== "text") return;
  const text = tail.text.trimEnd();
  if (text !== "") tail.text = text;
  else last.content.pop();
  if (last.content.length === 0) turns.pop();
}
