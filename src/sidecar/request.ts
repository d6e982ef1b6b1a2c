// A Claude Code mode request, validated and reduced to what the agent takes: the model, the client's
// system text, the earlier turns, and the last user turn as the prompt. OpenAI bodies are converted
// by the shared core first. Client tools are refused (they need API mode); fields that would steer
// the agent itself (cwd, permission_mode, allowed_tools, mcp_servers, env, …) are never read.
import { z } from "zod";
import type { ContentBlock, MessageParam, OtherBlock, ThinkingConfig } from "../shared/anthropic/types.ts";
import { refuseClientTools } from "../shared/claude-code.ts";
import { openaiToAnthropicRequest } from "../shared/convert/request.ts";
import { invalid, parseAt } from "../shared/convert/validate.ts";
import type { WireFormat } from "../shared/errors.ts";
import { resolveModel } from "../shared/models.ts";
import type { Policy } from "./policy.ts";

export type Block = ContentBlock | OtherBlock;

export interface AgentRequest {
  format: WireFormat;
  stream: boolean;
  /** OpenAI `stream_options.include_usage`. */
  includeUsage: boolean;
  /** The name the client asked for (OpenAI responses echo it). */
  clientModel: string;
  /** After aliases: what the agent runs on. */
  model: string;
  /** The client's `system` (and OpenAI system/developer messages) as text; "" when none. */
  system: string;
  /** The turns before the last user turn. */
  history: MessageParam[];
  /** The last user turn's blocks: text, images, documents. */
  prompt: Block[];
  thinking: ThinkingConfig | undefined;
  effort: string | undefined;
}

const Block = z.looseObject({ type: z.string() }, { error: "expected a content block object" });
const Message = z.looseObject({
  role: z.enum(["user", "assistant", "system"]),
  content: z.union([z.string(), z.array(Block)], {
    error: "expected a string or an array of content blocks",
  }),
});
const AnthropicBody = z.looseObject(
  {
    model: z.string().min(1),
    messages: z.array(Message).min(1),
    max_tokens: z.number().int().min(1).optional(),
    stream: z.boolean().nullish(),
    system: z
      .union([z.string(), z.array(z.looseObject({ type: z.literal("text"), text: z.string() }))], {
        error: "expected a string or an array of text blocks",
      })
      .nullish(),
    tools: z.array(z.unknown()).nullish(),
    thinking: z.looseObject({ type: z.enum(["enabled", "disabled", "adaptive"]) }).nullish(),
    output_config: z.looseObject({ effort: z.string().optional() }).nullish(),
  },
  { error: "expected a JSON object" },
);

const PROMPT_BLOCKS: ReadonlySet<string> = new Set(["text", "image", "document"]);

export function parseRunBody(format: WireFormat, body: unknown, policy: Policy): AgentRequest {
  refuseClientTools(format, body);
  return format === "anthropic" ? fromAnthropic(body, policy) : fromOpenAI(body, policy);
}

function fromAnthropic(body: unknown, policy: Policy): AgentRequest {
  const req = parseAt(AnthropicBody, body, "");
  const system =
    req.system === undefined || req.system === null
      ? ""
      : typeof req.system === "string"
        ? req.system
        : req.system.map((b) => b.text).join("\n\n");
  const { history, prompt } = splitLastTurn(req.messages as MessageParam[]);
  return {
    format: "anthropic",
    stream: req.stream === true,
    includeUsage: false,
    clientModel: req.model,
    model: resolveModel(policy.modelAliases, req.model),
    system,
    history,
    prompt,
    thinking: (req.thinking ?? undefined) as ThinkingConfig | undefined,
    effort: req.output_config?.effort,
  };
}

function fromOpenAI(body: unknown, policy: Policy): AgentRequest {
  const { body: converted, context } = openaiToAnthropicRequest(body, {
    defaultMaxTokens: policy.defaultMaxTokens,
    resolveModel: (name) => resolveModel(policy.modelAliases, name),
  });
  if (converted.output_config?.format !== undefined) {
    throw invalid(
      "response_format",
      "response_format json_schema is not supported in Claude Code mode (the agent answers in prose); use API mode: /api/v1/chat/completions.",
    );
  }
  const system = Array.isArray(converted.system)
    ? converted.system.map((b) => b.text).join("\n\n")
    : (converted.system ?? "");
  const { history, prompt } = splitLastTurn(converted.messages);
  return {
    format: "openai",
    stream: context.stream,
    includeUsage: context.includeUsage,
    clientModel: context.model,
    model: converted.model,
    system,
    history,
    prompt,
    thinking: converted.thinking,
    effort: converted.output_config?.effort,
  };
}

/** The last non-system message must be the user's; it becomes the prompt, the rest is history. */
function splitLastTurn(messages: MessageParam[]): { history: MessageParam[]; prompt: Block[] } {
  let last = messages.length - 1;
  while (last >= 0 && messages[last]?.role === "system") last--;
  const turn = messages[last];
  if (turn === undefined || turn.role !== "user") {
    throw invalid(
      "messages",
      "Claude Code mode answers a user turn: the last message must have role 'user' (an assistant prefill is only supported in API mode, /api/v1/messages).",
    );
  }
  const blocks: Block[] =
    typeof turn.content === "string" ? [{ type: "text", text: turn.content }] : [...turn.content];
  const prompt: Block[] = [];
  for (const [i, block] of blocks.entries()) {
    if (!PROMPT_BLOCKS.has(block.type)) {
      const hint =
        block.type === "tool_result"
          ? " Tool results belong to client-defined tools, which need API mode (/api/v1/...)."
          : "";
      throw invalid(
        `messages[${last}].content[${i}]`,
        `Content blocks of type '${block.type}' are not supported in the last user turn in Claude Code mode.${hint}`,
      );
    }
    if (block.type === "text" && (typeof block.text !== "string" || block.text === "")) continue;
    prompt.push(block);
  }
  if (prompt.length === 0) throw invalid(`messages[${last}].content`, "The last user turn is empty.");
  return { history: messages.slice(0, last), prompt };
}
