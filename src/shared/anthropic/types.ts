// Anthropic Messages API wire shapes, as far as CCProxy reads or writes them. Objects stay open
// (index signatures) because the API adds fields and CCProxy must pass them on, never drop them.

export type Role = "user" | "assistant";

export interface CacheControl {
  type: "ephemeral";
  ttl?: "5m" | "1h";
}

export interface TextBlock {
  type: "text";
  text: string;
  cache_control?: CacheControl;
  citations?: unknown[] | null;
  [k: string]: unknown;
}

export type ImageSource =
  | { type: "base64"; media_type: string; data: string }
  | { type: "url"; url: string }
  | { type: "file"; file_id: string };

export interface ImageBlock {
  type: "image";
  source: ImageSource;
  cache_control?: CacheControl;
  [k: string]: unknown;
}

export interface DocumentBlock {
  type: "document";
  source: Record<string, unknown>;
  [k: string]: unknown;
}

export interface ToolUseBlock {
  type: "tool_use";
  id: string;
  name: string;
  input: unknown;
  [k: string]: unknown;
}

export interface ToolResultBlock {
  type: "tool_result";
  tool_use_id: string;
  content?: string | Array<TextBlock | ImageBlock | DocumentBlock | Record<string, unknown>>;
  is_error?: boolean;
  cache_control?: CacheControl;
  [k: string]: unknown;
}

export interface ThinkingBlock {
  type: "thinking";
  thinking: string;
  signature: string;
  [k: string]: unknown;
}

export interface RedactedThinkingBlock {
  type: "redacted_thinking";
  data: string;
  [k: string]: unknown;
}

/** Server tool blocks (`server_tool_use`, `web_search_tool_result`, …) and future types. */
export interface OtherBlock {
  type: string;
  [k: string]: unknown;
}

export type ContentBlock =
  | TextBlock
  | ImageBlock
  | DocumentBlock
  | ToolUseBlock
  | ToolResultBlock
  | ThinkingBlock
  | RedactedThinkingBlock;

export interface MessageParam {
  /** Claude Code also sends `role: "system"` turns mid-conversation. */
  role: Role | "system";
  content: string | Array<ContentBlock | OtherBlock>;
  [k: string]: unknown;
}

export interface Tool {
  name: string;
  description?: string;
  input_schema?: Record<string, unknown>;
  type?: string;
  [k: string]: unknown;
}

export type ToolChoice =
  | { type: "auto"; disable_parallel_tool_use?: boolean }
  | { type: "any"; disable_parallel_tool_use?: boolean }
  | { type: "tool"; name: string; disable_parallel_tool_use?: boolean }
  | { type: "none" };

export type ThinkingConfig =
  | { type: "enabled"; budget_tokens: number; [k: string]: unknown }
  | { type: "disabled" }
  | { type: "adaptive"; [k: string]: unknown };

export interface MessageCreateParams {
  model: string;
  max_tokens: number;
  messages: MessageParam[];
  system?: string | TextBlock[];
  stop_sequences?: string[];
  temperature?: number;
  top_p?: number;
  top_k?: number;
  metadata?: { user_id?: string | null; [k: string]: unknown };
  stream?: boolean;
  tools?: Tool[];
  tool_choice?: ToolChoice;
  thinking?: ThinkingConfig;
  output_config?: { effort?: string; format?: { type: "json_schema"; schema: Record<string, unknown> } };
  [k: string]: unknown;
}

export type StopReason =
  | "end_turn"
  | "max_tokens"
  | "stop_sequence"
  | "tool_use"
  | "pause_turn"
  | "refusal"
  | "model_context_window_exceeded";

export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation?: { ephemeral_5m_input_tokens?: number; ephemeral_1h_input_tokens?: number } | null;
  server_tool_use?: Record<string, number> | null;
  service_tier?: string | null;
  [k: string]: unknown;
}

export interface Message {
  id: string;
  type: "message";
  role: "assistant";
  model: string;
  content: Array<ContentBlock | OtherBlock>;
  stop_reason: StopReason | string | null;
  stop_sequence: string | null;
  usage: Usage;
  [k: string]: unknown;
}

export type ContentDelta =
  | { type: "text_delta"; text: string }
  | { type: "input_json_delta"; partial_json: string }
  | { type: "thinking_delta"; thinking: string }
  | { type: "signature_delta"; signature: string }
  | { type: "citations_delta"; citation: unknown };

export type StreamEvent =
  | { type: "message_start"; message: Message }
  | { type: "content_block_start"; index: number; content_block: ContentBlock | OtherBlock }
  | {
      type: "content_block_delta";
      index: number;
      delta: ContentDelta | { type: string; [k: string]: unknown };
    }
  | { type: "content_block_stop"; index: number }
  | {
      type: "message_delta";
      delta: { stop_reason: StopReason | string | null; stop_sequence: string | null; [k: string]: unknown };
      usage: Partial<Usage>;
      [k: string]: unknown;
    }
  | { type: "message_stop" }
  | { type: "ping" }
  | { type: "error"; error: { type: string; message: string } };

export interface ErrorBody {
  type: "error";
  error: { type: string; message: string };
  request_id?: string;
}
