// The upstream Anthropic response headers an OpenAI client can use, in the names OpenAI clients
// read: the rate limits as `x-ratelimit-*` (LangChain, LiteLLM and the SDKs' users watch these) and
// Anthropic's request id, under its own name so CCProxy's `x-request-id` stays what the ledger uses.

/** Anthropic limit kind → OpenAI's suffix: only the two with a clear counterpart. */
const KINDS = [
  ["requests", "requests"],
  ["tokens", "tokens"],
] as const;

/**
 * `anthropic-ratelimit-{requests,tokens}-{limit,remaining}` → `x-ratelimit-{limit,remaining}-{requests,tokens}`;
 * `…-reset` (an RFC 3339 time) → `x-ratelimit-reset-*` as OpenAI writes it, the time left ("1s",
 * "6m0s"). `input-tokens`/`output-tokens` have no OpenAI name and stay as Anthropic's headers,
 * which are passed on too. `request-id` → `anthropic-request-id`.
 */
export function openaiResponseHeaders(upstream: Headers, now: number = Date.now()): Record<string, string> {
  const out: Record<string, string> = {};
  upstream.forEach((value, name) => {
    if (name.startsWith("anthropic-ratelimit-")) out[name] = value;
  });
  for (const [anthropic, openai] of KINDS) {
    const limit = upstream.get(`anthropic-ratelimit-${anthropic}-limit`);
    const remaining = upstream.get(`anthropic-ratelimit-${anthropic}-remaining`);
    const reset = upstream.get(`anthropic-ratelimit-${anthropic}-reset`);
    if (limit !== null) out[`x-ratelimit-limit-${openai}`] = limit;
    if (remaining !== null) out[`x-ratelimit-remaining-${openai}`] = remaining;
    const at = reset === null ? Number.NaN : Date.parse(reset);
    if (!Number.isNaN(at)) out[`x-ratelimit-reset-${openai}`] = goDuration(at - now);
  }
  const requestId = upstream.get("request-id");
  if (requestId !== null) out["anthropic-request-id"] = requestId;
  return out;
}

/** Milliseconds as OpenAI's reset headers spell them (Go durations): "250ms", "12s", "6m0s", "1h2m3s". */
export function goDuration(ms: number): string {
  if (ms <= 0) return "0s";
  if (ms < 1000) return `${Math.ceil(ms)}ms`;
  const total = Math.ceil(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
