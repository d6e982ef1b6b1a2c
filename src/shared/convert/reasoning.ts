// `reasoning_effort`, `max_tokens` and the sampling knobs → what the target Claude model accepts:
// extended thinking with a budget, or adaptive thinking with an effort level, and only the sampling
// parameters the model takes (see capabilities.ts).
import type { MessageCreateParams, ThinkingConfig } from "../anthropic/types.ts";
import type { ModelProfile } from "./capabilities.ts";
import { invalid } from "./validate.ts";

export type Effort = "minimal" | "low" | "medium" | "high" | "xhigh" | "max";

/**
 * Budget-thinking models: `budget_tokens` per effort. 1024 is Anthropic's minimum; each step
 * roughly doubles to quadruples; 32000 is where Anthropic's docs advise batch processing instead
 * of synchronous calls, so the top levels stop there.
 */
export const THINKING_BUDGET = {
  minimal: 1024,
  low: 2048,
  medium: 8192,
  high: 16384,
  xhigh: 32000,
  max: 32000,
} as const satisfies Record<Effort, number>;

/** Adaptive-thinking models: `output_config.effort` per OpenAI effort (Anthropic has no "minimal"). */
export const ADAPTIVE_EFFORT = {
  minimal: "low",
  low: "low",
  medium: "medium",
  high: "high",
  xhigh: "xhigh", // "max" on models without xhigh (4.6 answers 400 to it)
  max: "max",
} as const satisfies Record<Effort, string>;

const EFFORTS = new Set<string>(["none", ...Object.keys(THINKING_BUDGET)]);

/** Anthropic's smallest `budget_tokens`. */
const MIN_BUDGET = 1024;

export interface SamplingInput {
  maxTokens: number;
  effort: string | null | undefined;
  /** An Anthropic `thinking` object sent as an extension field wins over `reasoning_effort`. */
  thinking: ThinkingConfig | undefined;
  /** tool_choice `any`/`tool`: Anthropic refuses it together with thinking. */
  forcedTool: boolean;
  /**
   * The request answers a tool call whose assistant turn has no signed thinking first (the client
   * did not send `thinking_blocks` back). Budget thinking would be refused upstream.
   */
  unsignedToolTurn: boolean;
  temperature: number | null | undefined;
  topP: number | null | undefined;
  topK: number | null | undefined;
}

/** Sets `max_tokens`, `thinking`, `output_config.effort`, `temperature`, `top_p`, `top_k` on `out`. */
export function applyReasoning(out: MessageCreateParams, input: SamplingInput, profile: ModelProfile): void {
  let maxTokens = input.maxTokens;
  let thinking = input.thinking;
  const effort = input.effort;
  // "When `thinking` is enabled, a final `assistant` message must start with a thinking block …
  // To avoid this requirement, disable `thinking`." Without the signed block there is nothing to
  // put first, so this request goes without thinking (the next user turn gets it again). Adaptive
  // thinking is exempt: it may skip thinking on any step, so a turn without it is valid history.
  const unsigned = input.unsignedToolTurn && profile.thinking === "budget";
  if (unsigned && thinking?.type === "enabled") thinking = undefined;
  if (effort !== undefined && effort !== null && !EFFORTS.has(effort)) {
    throw invalid(
      "reasoning_effort",
      `Invalid value for 'reasoning_effort': '${effort}' is not one of none, minimal, low, medium, high, xhigh, max.`,
    );
  }
  // Forced tool use and thinking cannot be combined upstream. The forced call is what the client's
  // code depends on, so it wins and thinking is left out (reasoning is best effort in OpenAI too).
  if (
    thinking === undefined &&
    input.thinking === undefined &&
    !input.forcedTool &&
    !unsigned &&
    effort !== undefined &&
    effort !== null &&
    effort !== "none"
  ) {
    const level = effort as Effort;
    if (profile.thinking === "budget") {
      let budget: number = THINKING_BUDGET[level];
      // budget_tokens must stay below max_tokens: the client's max_tokens is kept as the room for
      // the visible answer and the budget is added on top.
      if (maxTokens <= budget) maxTokens = budget + Math.max(maxTokens, 1);
      const cap = profile.maxOutput;
      if (cap !== undefined && maxTokens > cap) {
        // Above the model's output limit is a 400 (opus-4-1, high, max_tokens 16384 → 32768 > 32000):
        // the budget gives way first, keeping the client's room for the answer, never below 1024.
        budget = Math.max(MIN_BUDGET, Math.min(budget, cap - Math.max(input.maxTokens, 1)));
        maxTokens = cap;
      }
      thinking = { type: "enabled", budget_tokens: budget };
    } else {
      thinking = profile.summarizedDisplay
        ? { type: "adaptive", display: "summarized" }
        : { type: "adaptive" };
      const mapped = ADAPTIVE_EFFORT[level];
      out.output_config = {
        ...out.output_config,
        effort: mapped === "xhigh" && !profile.xhighEffort ? "max" : mapped,
      };
    }
  }
  const cap = profile.maxOutput;
  if (cap !== undefined && maxTokens > cap) {
    // A client's (or the configured default) max_tokens above the model's limit: capped, as the
    // answer can never be longer anyway; an extension thinking budget is kept below it.
    maxTokens = cap;
    if (thinking?.type === "enabled" && thinking.budget_tokens >= cap)
      thinking = { ...thinking, budget_tokens: Math.max(MIN_BUDGET, cap - 1) };
  }
  out.max_tokens = maxTokens;
  if (thinking !== undefined) out.thinking = thinking;

  const thinkingOn = thinking !== undefined && thinking.type !== "disabled";
  let temperature = input.temperature ?? undefined;
  let topP = input.topP ?? undefined;
  let topK = input.topK ?? undefined;
  // OpenAI allows 0–2, Anthropic 0–1: capped at 1, as Anthropic's own compatibility endpoint does.
  if (temperature !== undefined && temperature > 1) temperature = 1;
  if (thinkingOn) {
    // "Thinking isn't compatible with temperature or top_k modifications"; top_p may stay in 0.95–1.
    temperature = undefined;
    topK = undefined;
    if (topP !== undefined && topP < 0.95) topP = 0.95;
  }
  if (profile.sampling === "none") {
    temperature = undefined; // non-default sampling parameters are a 400 on these models
    topP = undefined;
    topK = undefined;
  } else if (profile.sampling === "one" && temperature !== undefined && topP !== undefined) {
    topP = undefined; // "temperature and top_p cannot both be specified for this model"
  }
  if (temperature !== undefined) out.temperature = temperature;
  if (topP !== undefined) out.top_p = topP;
  if (topK !== undefined) out.top_k = topK;
}
