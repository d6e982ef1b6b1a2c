// Anthropic Message → OpenAI `chat.completion`. Client tool calls only: server-tool blocks
// (server_tool_use, web_search_tool_result, …) ran upstream already and are not the client's to run,
// so they are left out, as are citations. Thinking is `reasoning_content` (the text) and, signed,
// `thinking_blocks` (LiteLLM's field), which a client sends back so a tool loop can continue.
import type { Message } from "../anthropic/types.ts";
import type { ChatCompletion, ThinkingBlockParam, ToolCall } from "../openai/types.ts";
import { completionId, emptyCounts, finishReason, openaiUsage, readUsage } from "./finish.ts";

export interface ResponseOptions {
  /** The model name the client asked for. */
  model: string;
  /** Unix seconds; defaults to now. */
  created?: number;
}

export function anthropicToOpenAIResponse(message: Message, opts: ResponseOptions): ChatCompletion {
  let text: string | null = null;
  let reasoning: string | undefined;
  const toolCalls: ToolCall[] = [];
  const thinkingBlocks: ThinkingBlockParam[] = [];
  for (const block of message.content) {
    switch (block.type) {
      case "text":
        text = (text ?? "") + String(block.text);
        break;
      case "thinking":
        reasoning = (reasoning ?? "") + String(block.thinking);
        thinkingBlocks.push({
          type: "thinking",
          thinking: String(block.thinking),
          signature: typeof block.signature === "string" ? block.signature : "",
        });
        break;
      case "redacted_thinking":
        thinkingBlocks.push({ type: "redacted_thinking", data: String(block.data) });
        break;
      case "tool_use":
        toolCalls.push({
          id: String(block.id),
          type: "function",
          function: { name: String(block.name), arguments: JSON.stringify(block.input ?? {}) },
        });
        break;
      default:
        break; // server tools and their results, future block types
    }
  }

  const counts = emptyCounts();
  readUsage(counts, message.usage);
  let finish = finishReason(message.stop_reason);
  // stop_reason tool_use with no client tool call to show (server tools only) would leave an
  // OpenAI client waiting to run nothing.
  if (finish === "tool_calls" && toolCalls.length === 0) finish = "stop";

  const msg: ChatCompletion["choices"][number]["message"] = {
    role: "assistant",
    content: text,
    refusal: null,
    annotations: [], // OpenAI's URL citations; Claude's citations have no faithful mapping here
  };
  if (toolCalls.length > 0) msg.tool_calls = toolCalls;
  if (reasoning !== undefined) msg.reasoning_content = reasoning;
  if (thinkingBlocks.length > 0) msg.thinking_blocks = thinkingBlocks;
  return {
    id: completionId(message.id),
    object: "chat.completion",
    created: opts.created ?? Math.floor(Date.now() / 1000),
    model: opts.model,
    choices: [{ index: 0, message: msg, logprobs: null, finish_reason: finish }],
    usage: openaiUsage(counts),
  };
}
