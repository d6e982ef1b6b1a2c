// OpenAI chat completion request → Anthropic Messages request, validated at the boundary. Every
// field is mapped, refused with a 400 naming it, or knowingly ignored (README.md has the table).
import { z } from "zod";
import type { MessageCreateParams, ThinkingConfig } from "../anthropic/types.ts";
import { modelProfile } from "./capabilities.ts";
import { convertMessages, dropFinalThinking, toolTurnWithoutThinking } from "./messages.ts";
import { applyReasoning } from "./reasoning.ts";
import { applyResponseFormat } from "./response-format.ts";
import { convertTools } from "./tools.ts";
import { invalid, parseAt } from "./validate.ts";

export interface RequestOptions {
  /** `max_tokens` when the client sends neither `max_completion_tokens` nor `max_tokens`. */
  defaultMaxTokens: number;
  /** Client model name → upstream model id (the alias table). */
  resolveModel: (name: string) => string;
}

/** What the response side needs to know about the request. */
export interface OpenAIRequestContext {
  /** The model name the client asked for; responses and chunks echo it. */
  model: string;
  stream: boolean;
  /** `stream_options.include_usage`: a final usage chunk, and `usage: null` on every other chunk. */
  includeUsage: boolean;
}

export interface ConvertedRequest {
  body: MessageCreateParams;
  context: OpenAIRequestContext;
}

const count = z.number().int().min(0);
const ChatRequest = z.looseObject(
  {
    model: z.string().min(1),
    messages: z.array(z.unknown()).min(1),
    max_tokens: count.nullish(),
    max_completion_tokens: count.nullish(),
    temperature: z.number().min(0).max(2).nullish(),
    top_p: z.number().min(0).max(1).nullish(),
    top_k: count.nullish(),
    n: z.number().int().min(1).nullish(),
    stop: z
      .union([z.string(), z.array(z.string())], { error: "expected a string or an array of strings" })
      .nullish(),
    stream: z.boolean().nullish(),
    stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
    tools: z.array(z.unknown()).nullish(),
    tool_choice: z.unknown().optional(),
    parallel_tool_calls: z.boolean().nullish(),
    functions: z.array(z.unknown()).nullish(),
    function_call: z.unknown().optional(),
    user: z.string().nullish(),
    safety_identifier: z.string().nullish(),
    reasoning_effort: z.string().nullish(),
    response_format: z.unknown().optional(),
    logprobs: z.boolean().nullish(),
    top_logprobs: count.nullish(),
    modalities: z.array(z.string()).nullish(),
    thinking: z.looseObject({ type: z.enum(["enabled", "disabled", "adaptive"]) }).nullish(),
  },
  { error: "expected a JSON object" },
);

export function openaiToAnthropicRequest(body: unknown, opts: RequestOptions): ConvertedRequest {
  const req = parseAt(ChatRequest, body, "");
  refuseUnsupported(req);

  const model = opts.resolveModel(req.model);
  const profile = modelProfile(model);
  const { system, messages } = convertMessages(req.messages);
  const out: MessageCreateParams = { model, max_tokens: 0, messages };
  const { tools, tool_choice, instruction } = convertTools(req, profile);
  if (tools !== undefined) out.tools = tools;
  if (tool_choice !== undefined) out.tool_choice = tool_choice;
  if (instruction !== undefined) system.push({ type: "text", text: instruction });

  applyReasoning(
    out,
    {
      maxTokens: req.max_completion_tokens ?? req.max_tokens ?? opts.defaultMaxTokens,
      effort: req.reasoning_effort,
      thinking: (req.thinking ?? undefined) as ThinkingConfig | undefined,
      forcedTool: tool_choice?.type === "any" || tool_choice?.type === "tool",
      unsignedToolTurn: toolTurnWithoutThinking(messages),
      temperature: req.temperature,
      topP: req.top_p,
      topK: req.top_k,
    },
    profile,
  );
  if (out.thinking === undefined || out.thinking.type === "disabled") dropFinalThinking(messages);
  applyResponseFormat(out, system, req.response_format, profile);
  if (system.length > 0) out.system = system;

  const stop =
    req.stop === undefined || req.stop === null ? [] : typeof req.stop === "string" ? [req.stop] : req.stop;
  // Anthropic rejects whitespace-only stop sequences; like its own compatibility endpoint, they are dropped.
  const stopSequences = stop.filter((s) => s.trim() !== "");
  if (stopSequences.length > 0) out.stop_sequences = stopSequences;

  const userId = req.user ?? req.safety_identifier;
  if (typeof userId === "string" && userId !== "") out.metadata = { user_id: userId };

  const stream = req.stream === true;
  if (stream) out.stream = true;
  return {
    body: out,
    context: { model: req.model, stream, includeUsage: stream && req.stream_options?.include_usage === true },
  };
}

function refuseUnsupported(req: z.output<typeof ChatRequest>): void {
  if (typeof req.n === "number" && req.n > 1) {
    throw invalid("n", "n > 1 is not supported: Claude returns exactly one choice per request.");
  }
  if (req.logprobs === true) throw invalid("logprobs", "logprobs are not supported by Claude.");
  if (typeof req.top_logprobs === "number" && req.top_logprobs > 0) {
    throw invalid("top_logprobs", "top_logprobs are not supported by Claude.");
  }
  const modalities = req.modalities ?? [];
  const other = modalities.find((m) => m !== "text");
  if (other !== undefined)
    throw invalid("modalities", `Output modality '${other}' is not supported by Claude.`);
  if (req.audio !== undefined && req.audio !== null)
    throw invalid("audio", "Audio output is not supported by Claude.");
  if (req.web_search_options !== undefined && req.web_search_options !== null) {
    throw invalid(
      "web_search_options",
      "web_search_options is not supported here; use the Anthropic route with the web_search tool.",
    );
  }
}
