// What a request cost, from its usage, as Anthropic prices it: base input, cache writes (5-minute and
// 1-hour), cache reads, output, and web searches. Unknown models cost null, never a guess.
//
// Source: platform.claude.com/docs/en/about-claude/pricing and the per-model overview pages, read
// 2026-11-25 (Sonnet 5.5 cache reads at $0.10 since 2026-10-07). USD per million tokens.
// Not priced here: the Batch API discount, fast mode, US-only inference (1.1×), code execution hours.

export interface Rates {
  input: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
  cacheRead: number;
  output: number;
}

interface PriceEntry {
  /** The model id and its dated or suffixed variants (`claude-sonnet-4-5-20250929`, `…[1m]`). */
  model: string;
  rates: Rates;
  /** Rates for every token of a request whose prompt (input + cache reads + cache writes) exceeds `above`. */
  longPrompt?: { above: number; rates: Rates };
}

const r = (
  input: number,
  cacheWrite5m: number,
  cacheWrite1h: number,
  cacheRead: number,
  output: number,
): Rates => ({
  input,
  cacheWrite5m,
  cacheWrite1h,
  cacheRead,
  output,
});

const FABLE_51 = r(10, 12.5, 20, 0.25, 50);
const FABLE_5 = r(10, 12.5, 20, 1, 50);
const OPUS_55 = r(4, 5, 8, 0.2, 20);
const OPUS_45 = r(5, 6.25, 10, 0.5, 25);
const OPUS_4 = r(15, 18.75, 30, 1.5, 75);
const SONNET_55 = r(2, 2.5, 4, 0.1, 10);
const SONNET_5 = r(2, 2.5, 4, 0.2, 10);
const SONNET_4 = r(3, 3.75, 6, 0.3, 15);
const SONNET_4_LONG = r(6, 7.5, 12, 0.6, 22.5);
const HAIKU_55 = r(0.1, 0.125, 0.2, 0.01, 0.5);
const HAIKU_55_LONG = r(0.5, 0.625, 1, 0.05, 2.5);

export const PRICES: readonly PriceEntry[] = [
  { model: "claude-fable-5-1", rates: FABLE_51 },
  { model: "claude-mythos-5-1", rates: FABLE_51 },
  { model: "claude-fable-5", rates: FABLE_5 },
  { model: "claude-mythos-5", rates: FABLE_5 },
  { model: "claude-opus-5-5", rates: OPUS_55 },
  { model: "claude-opus-5", rates: OPUS_45 },
  { model: "claude-opus-4-8", rates: OPUS_45 },
  { model: "claude-opus-4-7", rates: OPUS_45 },
  { model: "claude-opus-4-6", rates: OPUS_45 },
  { model: "claude-opus-4-5", rates: OPUS_45 },
  { model: "claude-opus-4-1", rates: OPUS_4 },
  { model: "claude-opus-4", rates: OPUS_4 },
  { model: "claude-3-opus", rates: OPUS_4 },
  { model: "claude-sonnet-5-5", rates: SONNET_55 },
  { model: "claude-sonnet-5", rates: SONNET_5 },
  { model: "claude-sonnet-4-6", rates: SONNET_4 },
  { model: "claude-sonnet-4-5", rates: SONNET_4, longPrompt: { above: 200_000, rates: SONNET_4_LONG } },
  { model: "claude-sonnet-4", rates: SONNET_4, longPrompt: { above: 200_000, rates: SONNET_4_LONG } },
  { model: "claude-3-7-sonnet", rates: SONNET_4 },
  { model: "claude-3-5-sonnet", rates: SONNET_4 },
  { model: "claude-haiku-5-5", rates: HAIKU_55, longPrompt: { above: 100_000, rates: HAIKU_55_LONG } },
  { model: "claude-haiku-4-5", rates: r(1, 1.25, 2, 0.1, 5) },
  { model: "claude-3-5-haiku", rates: r(0.8, 1, 1.6, 0.08, 4) },
  { model: "claude-3-haiku", rates: r(0.25, 0.3, 0.5, 0.03, 1.25) },
];

/** USD per web search (server tool `web_search`): $10 per 1,000 searches. */
export const WEB_SEARCH_USD = 0.01;

/** True when `id` is `model` or a variant of it: a date (`-20250929`), `[1m]`, or `@version`. */
function isVariant(id: string, model: string): boolean {
  if (!id.startsWith(model)) return false;
  const rest = id.slice(model.length);
  return rest === "" || /^(-\d{8}|\[|@|-latest$)/.test(rest);
}

export function priceEntry(model: string): PriceEntry | undefined {
  const id = model.toLowerCase();
  let best: PriceEntry | undefined;
  for (const e of PRICES) {
    if (isVariant(id, e.model) && (best === undefined || e.model.length > best.model.length)) best = e;
  }
  return best;
}

/** Usage as the Anthropic API reports it (the fields cost depends on). */
export interface TokenUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  /** The split of cache_creation_input_tokens by TTL, when the API reported it. */
  cache_creation_5m?: number;
  cache_creation_1h?: number;
  web_search_requests?: number;
}

export function emptyUsage(): TokenUsage {
  return { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
}

export function totalTokens(u: TokenUsage): number {
  return u.input_tokens + u.output_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens;
}

/** Cost in USD, or null when the model has no price here. */
export function costUsd(model: string, u: TokenUsage): number | null {
  const entry = priceEntry(model);
  if (entry === undefined) return null;
  const prompt = u.input_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens;
  const rates = entry.longPrompt && prompt > entry.longPrompt.above ? entry.longPrompt.rates : entry.rates;
  // Without a TTL split every cache write is billed at the 5-minute rate (the API's default TTL).
  const w1h = u.cache_creation_1h ?? 0;
  const w5m = u.cache_creation_5m ?? u.cache_creation_input_tokens - w1h;
  const perMillion =
    u.input_tokens * rates.input +
    w5m * rates.cacheWrite5m +
    w1h * rates.cacheWrite1h +
    u.cache_read_input_tokens * rates.cacheRead +
    u.output_tokens * rates.output;
  return perMillion / 1_000_000 + (u.web_search_requests ?? 0) * WEB_SEARCH_USD;
}

/**
 * The most a request can cost before it runs: its estimated prompt at the dearest input rate, plus
 * max_tokens of output, plus the web searches it may run.
 */
export function reservationUsd(
  model: string,
  promptTokens: number,
  maxTokens: number,
  webSearches = 0,
): number | null {
  const entry = priceEntry(model);
  if (entry === undefined) return null;
  const rates =
    entry.longPrompt && promptTokens > entry.longPrompt.above ? entry.longPrompt.rates : entry.rates;
  // Cache writes can cost up to 2× input (1-hour TTL): reserve for the worst case.
  return (
    (promptTokens * rates.cacheWrite1h + maxTokens * rates.output) / 1_000_000 + webSearches * WEB_SEARCH_USD
  );
}
