// What a request may cost before it runs: an estimate of its prompt tokens from the Anthropic request
// body (text by characters, images and documents by size), its max_tokens and the web searches it may
// run. Used to reserve budget, and to estimate the output of a stream that ended before its usage.

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Characters per token, rounded down from the usual ~4 so the estimate errs high. */
const CHARS_PER_TOKEN = 3.5;
/** Anthropic bills an image at about (width × height) / 750 tokens, at most ~1,600 once resized. */
const IMAGE_TOKENS = 1600;

function blockChars(block: unknown): number {
  if (typeof block === "string") return block.length;
  if (!isObj(block)) return 0;
  switch (block.type) {
    case "text":
      return typeof block.text === "string" ? block.text.length : 0;
    case "image":
      return IMAGE_TOKENS * CHARS_PER_TOKEN;
    case "document": {
      const source = isObj(block.source) ? block.source : {};
      const data = typeof source.data === "string" ? source.data : "";
      // A PDF page is ~1,500–3,000 tokens; by size, ~1 token per 40 bytes of file is a fair ceiling.
      return source.type === "base64" ? ((data.length * 3) / 4 / 40) * CHARS_PER_TOKEN : data.length;
    }
    case "tool_result":
      return typeof block.content === "string"
        ? block.content.length
        : Array.isArray(block.content)
          ? block.content.reduce((n: number, b) => n + blockChars(b), 0)
          : 0;
    case "tool_use":
      return JSON.stringify(block.input ?? {}).length;
    case "thinking":
      return typeof block.thinking === "string" ? block.thinking.length : 0;
    default:
      return JSON.stringify(block).length;
  }
}

function contentChars(content: unknown): number {
  if (typeof content === "string") return content.length;
  if (Array.isArray(content)) return content.reduce((n: number, b) => n + blockChars(b), 0);
  return 0;
}

/** Tokens for `chars` characters of text, erring high like every estimate here. */
export function tokensForChars(chars: number): number {
  return Math.ceil(chars / CHARS_PER_TOKEN);
}

export function estimatePromptTokens(body: Obj): number {
  let chars = contentChars(body.system);
  if (Array.isArray(body.messages))
    for (const m of body.messages) if (isObj(m)) chars += contentChars(m.content) + 8;
  if (Array.isArray(body.tools)) chars += JSON.stringify(body.tools).length;
  return Math.ceil(chars / CHARS_PER_TOKEN);
}

export interface Estimate {
  promptTokens: number;
  maxTokens: number;
  /** Web searches the request may run (server tool `web_search`), each billed on top of tokens. */
  webSearches?: number;
}

/**
 * Searches reserved for a `web_search` tool without `max_uses`: the API sets no cap, and a turn that
 * searches this often is already unusual. The real count settles it either way.
 */
export const DEFAULT_WEB_SEARCHES = 10;

/** The most web searches the request's `web_search` server tools allow (0 without one). */
export function estimateWebSearches(body: Obj): number {
  if (!Array.isArray(body.tools)) return 0;
  let n = 0;
  for (const t of body.tools) {
    if (!isObj(t) || typeof t.type !== "string" || !t.type.startsWith("web_search")) continue;
    n += typeof t.max_uses === "number" && t.max_uses >= 0 ? t.max_uses : DEFAULT_WEB_SEARCHES;
  }
  return n;
}

export function estimateRequest(body: Obj, defaultMaxTokens: number): Estimate {
  const max =
    typeof body.max_tokens === "number" && body.max_tokens >= 0 ? body.max_tokens : defaultMaxTokens;
  return {
    promptTokens: estimatePromptTokens(body),
    maxTokens: max,
    webSearches: estimateWebSearches(body),
  };
}
