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
}

/**
 * Version breakpoints (major*10 + minor), from Anthropic's model pages and migration guides:
 * - ≤ 4.0 (and Claude 3.x): budget thinking, every sampling knob.
 * - 4.1 – 4.5: budget thinking; "`temperature` and `top_p` cannot both be specified for this model".
 * - 4.6: adaptive thinking recommended (`enabled` deprecated), one sampling knob, no `xhigh`.
 * - ≥ 4.7, and the Mythos / Fable families: adaptive only, non-default sampling knobs are a 400,
 *   thinking text hidden by default.
 */
const LEGACY: ModelProfile = {
  thinking: "budget",
  sampling: "all",
  xhighEffort: false,
  summarizedDisplay: false,
};
const ONE_KNOB: ModelProfile = {
  thinking: "budget",
  sampling: "one",
  xhighEffort: false,
  summarizedDisplay: false,
};
const V46: ModelProfile = {
  thinking: "adaptive",
  sampling: "one",
  xhighEffort: false,
  summarizedDisplay: false,
};
const CURRENT: ModelProfile = {
  thinking: "adaptive",
  sampling: "none",
  xhighEffort: true,
  summarizedDisplay: true,
};

/** `claude-<family>-<major>[-<minor>][-<yyyymmdd>]`, e.g. claude-opus-4-1-20250805, claude-sonnet-5-5. */
const FAMILY_FIRST = /^claude-([a-z]+)-(\d+)(?:-(\d))?(?:-\d{8})?(?:-latest)?$/;
/** Families that only ever shipped with adaptive thinking (including unversioned previews). */
const ADAPTIVE_FAMILIES = /^claude-(mythos|fable)(-|$)/;

/** Unknown or non-Claude ids (operator-configured upstreams) get the permissive legacy profile. */
export function modelProfile(model: string): ModelProfile {
  const id = model.toLowerCase();
  if (ADAPTIVE_FAMILIES.test(id)) return CURRENT;
  const m = FAMILY_FIRST.exec(id);
  if (m) {
    const version = Number(m[2]) * 10 + (m[3] === undefined ? 0 : Number(m[3]));
    if (version >= 47) return CURRENT;
    if (version === 46) return V46;
    if (version >= 41) return ONE_KNOB;
    return LEGACY;
  }
  return LEGACY; // Claude 3.x ids (claude-3-5-sonnet-…) and anything unrecognised
}
