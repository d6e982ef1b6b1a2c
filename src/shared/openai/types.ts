// OpenAI Chat Completions wire shapes, as far as CCProxy reads or writes them.

export interface TextPart {
  type: "text";
  text: string;
}

export interface ImageUrlPart {
  type: "image_url";
  image_url: { url: string; detail?: "auto" | "low" | "high" };
}

export interface OtherPart {
  type: string;
  [k: string]: unknown;
}

export type ContentPart = TextPart | ImageUrlPart | OtherPart;

export interface ToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

/**
 * A signed Claude thinking block as LiteLLM carries it on `message` / `delta` (`thinking_blocks`).
 * Not part of OpenAI's API: an extension that LiteLLM-compatible clients return with the next turn.
 */
export type ThinkingBlockParam =
  | { type: "thinking"; thinking: string; signature: string }
  | { type: "redacted_thinking"; data: string };

export type ChatMessage =
  | { role: "system" | "developer"; content: string | ContentPart[]; name?: string }
  | { role: "user"; content: string | ContentPart[]; name?: string }
  | {
      role: "assistant";
      content?: string | ContentPart[] | null;
      tool_calls?: ToolCall[];
      function_call?: { name: string; arguments: string } | null;
      name?: string;
      refusal?: string | null;
      /** Non-standard, as returned by CCProxy and other gateways; sent back by some clients. */
      reasoning_content?: string | null;
      /** Non-standard (LiteLLM): the signed thinking blocks, rebuilt first in the assistant turn. */
      thinking_blocks?: ThinkingBlockParam[] | null;
    }
  | { role: "tool"; content: string | ContentPart[]; tool_call_id: string }
  | { role: "function"; content: string | null; name: string };

export interface FunctionDef {
  name: string;
  description?: string;
  parameters?: Record<string, unknown>;
  strict?: boolean | null;
}

export interface ChatTool {
  type: "function";
  function: FunctionDef;
}

export type ChatToolChoice = "none" | "auto" | "required" | { type: "function"; function: { name: string } };

export interface ChatCompletionCreateParams {
  model: string;
  messages: ChatMessage[];
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  n?: number | null;
  stop?: string | string[] | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean; include_obfuscation?: boolean } | null;
  tools?: ChatTool[];
  tool_choice?: ChatToolChoice;
  parallel_tool_calls?: boolean;
  functions?: FunctionDef[];
  function_call?: "none" | "auto" | { name: string };
  user?: string;
  reasoning_effort?: string | null;
  response_format?:
    | { type: "text" }
    | { type: "json_object" }
    | {
        type: "json_schema";
        json_schema: {
          name: string;
          description?: string;
          schema?: Record<string, unknown>;
          strict?: boolean | null;
        };
      };
  logprobs?: boolean | null;
  top_logprobs?: number | null;
  [k: string]: unknown;
}

export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter" | "function_call";

export interface CompletionUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens: number; [k: string]: number };
  completion_tokens_details?: { reasoning_tokens?: number; [k: string]: number | undefined };
}

export interface ChatCompletion {
  id: string;
  object: "chat.completion";
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: {
      role: "assistant";
      content: string | null;
      refusal: string | null;
      /** Always `[]`, as OpenAI sends it without web search. */
      annotations: unknown[];
      tool_calls?: ToolCall[];
      reasoning_content?: string;
      thinking_blocks?: ThinkingBlockParam[];
    };
    logprobs: null;
    finish_reason: FinishReason | null;
  }>;
  usage: CompletionUsage;
  system_fingerprint?: string | null;
}

export interface ChunkToolCallDelta {
  index: number;
  id?: string;
  type?: "function";
  function?: { name?: string; arguments?: string };
}

export interface ChatCompletionChunk {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
  choices: Array<{
    index: number;
    delta: {
      role?: "assistant";
      content?: string | null;
      reasoning_content?: string;
      /** Fragments: thinking text with `signature: ""`, then the signature with `thinking: ""`. */
      thinking_blocks?: ThinkingBlockParam[];
      tool_calls?: ChunkToolCallDelta[];
      refusal?: string | null;
    };
    logprobs: null;
    finish_reason: FinishReason | null;
  }>;
  usage?: CompletionUsage | null;
  system_fingerprint?: string | null;
}
