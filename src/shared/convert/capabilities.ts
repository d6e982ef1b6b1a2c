// What a Claude model accepts, read from its id: how to ask it to think and which sampling knobs it
// takes. OpenAI clients send `temperature` and `reasoning_effort` by habit; the newest Claude models
// answer 400 to both in their OpenAI-era form, so the request converter adapts to the target.

export interface ModelProfile {
  /** `budget`: `thinking {type:"enabled", budget_tokens}`; `adaptive`: `{type:"adaptive"}` + `output_config.effort`. */
  readonly thinking: "budget" | "adaptive";
  /** `all`: temperature, top_p, top_k; `one`: temperature or top_p, not both; `none`: no sampling knobs. */
  readonly sampling: "all" | "one" | "none";
  /** Accepts `output_config.effort: "xhigh"` (4.7 and later; 4.6 answers 400). */
  readonly xhighEffort: boolean;
  /** Thinking text is omitted unless `display: "summarized"` is asked for (Haiku 5.5 docs; 4.7 and later). */
  readonly summarizedDisplay: boolean;
  /**
   * The most `max_tokens` the model accepts (a 400 above it), or undefined when unknown (ids the
   * tables below do not know pass unchanged).
   */
  readonly maxOutput: number | undefined;
  /**
   * Structured outputs (`output_config.format`, strict tools): GA "for Claude Opus 4.6, Claude
   * Sonnet 4.6, Claude Sonnet 4.5, Claude Opus 4.5 and Claude Haiku 4.5" and the models after them;
   * older ones (Opus 4.1, Opus 4, Sonnet 4, 3.x) do not have it. Unknown ids are given it: the
   * operator's upstream decides.
   */
  readonly structuredOutputs: boolean;
  /**
   * Accepts a forcing `tool_choice` (`any` / `tool`). Opus 5.5, Sonnet 5.5, Fable 5.1 and Mythos
   * 5.1 answer 400 to it ("Forced tool use returns an error", Sonnet 5.5 migration guide).
   */
  readonly forcedToolChoice: boolean;
}

type Base = Omit<ModelProfile, "maxOutput" | "structuredOutputs" | "forcedToolChoice">;

/**
 * Version breakpoints (major*10 + minor), from Anthropic's model pages and migration guides:
 * - ≤ 4.0 (and Claude 3.x): budget thinking, every sampling knob.
 * - 4.1 – 4.5: budget thinking; "`temperature` and `top_p` cannot both be specified for this model".
 * - 4.6: adaptive thinking recommended (`enabled` deprecated), one sampling knob, no `xhigh`.
 * - ≥ 4.7, and the Mythos / Fable families: adaptive only, non-default sampling knobs are a 400,
 *   thinking text hidden by default.
 */
const LEGACY: Base = {
  thinking: "budget",
  sampling: "all",
  xhighEffort: false,
  summarizedDisplay: false,
};
const ONE_KNOB: Base = {
  thinking: "budget",
  sampling: "one",
  xhighEffort: false,
  summarizedDisplay: false,
};
const V46: Base = {
  thinking: "adaptive",
  sampling: "one",
  xhighEffort: false,
  summarizedDisplay: false,
};
const CURRENT: Base = {
  thinking: "adaptive",
  sampling: "none",
  xhighEffort: true,
  summarizedDisplay: true,
};

/** `claude-<family>-<major>[-<minor>][-<yyyymmdd>]`, e.g. claude-opus-4-1-20250805, claude-sonnet-5-5. */
const FAMILY_FIRST = /^claude-([a-z]+)-(\d+)(?:-(\d))?(?:-\d{8})?(?:-latest)?$/;
/** Families that only ever shipped with adaptive thinking (including unversioned previews). */
const ADAPTIVE_FAMILIES = /^claude-(mythos|fable)(-|$)/;

/** `claude-3-5-sonnet-20241022`, `claude-3-opus-20240229`, `claude-3-7-sonnet-latest`. */
const CLAUDE_3 = /^claude-3(?:-(\d))?-([a-z]+)(?:-\d{8}|-latest)?$/;

/**
 * Max output tokens from Anthropic's model pages: 128K for 4.6 and later (Opus 4.6 "Max output:
 * 128K tokens", every 5.x page the same), 64K for the 4.5 family, Sonnet 4 and Sonnet 3.7, 32K for
 * Opus 4 and 4.1, 8192 for the 3.5 models, 4096 for Claude 3.
 */
function maxOutputOf(family: string, version: number): number {
  if (version >= 46) return 128_000;
  if (version === 45) return 64_000;
  if (version >= 40) return family === "opus" ? 32_000 : 64_000;
  if (version === 37) return 64_000;
  if (version === 35) return 8192;
  return 4096;
}

/** Unknown or non-Claude ids (operator-configured upstreams) get the permissive legacy profile. */
export function modelProfile(model: string): ModelProfile {
  const id = model.toLowerCase();
  const m = FAMILY_FIRST.exec(id);
  const family = m?.[1];
  const version = m ? Number(m[2]) * 10 + (m[3] === undefined ? 0 : Number(m[3])) : undefined;
  if (ADAPTIVE_FAMILIES.test(id)) {
    // Mythos / Fable: adaptive only; forced tool use refused from 5.1 (unversioned previews allow it).
    return { ...CURRENT, maxOutput: 128_000, structuredOutputs: true, forcedToolChoice: (version ?? 0) < 51 };
  }
  if (family !== undefined && version !== undefined) {
    const limits = {
      maxOutput: maxOutputOf(family, version),
      structuredOutputs: version >= 45,
      forcedToolChoice: !(version >= 55 && (family === "opus" || family === "sonnet")),
    };
    if (version >= 47) return { ...CURRENT, ...limits };
    if (version === 46) return { ...V46, ...limits };
    if (version >= 41) return { ...ONE_KNOB, ...limits };
    return { ...LEGACY, ...limits };
  }
  const v3 = CLAUDE_3.exec(id);
  if (v3) {
    const v = 30 + (v3[1] === undefined ? 0 : Number(v3[1]));
    return {
      ...LEGACY,
      maxOutput: maxOutputOf(v3[2] as string, v),
      structuredOutputs: false,
      forcedToolChoice: true,
    };
  }
  // Anything unrecognised: everything is sent as asked, the operator's upstream decides.
  return { ...LEGACY, maxOutput: undefined, structuredOutputs: true, forcedToolChoice: true };
}
