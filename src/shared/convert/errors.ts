// An upstream Anthropic error response → the OpenAI error response an OpenAI client expects, for the
// OpenAI routes of API mode. The HTTP status is kept (OpenAI SDKs branch on it), except 529, which
// OpenAI clients do not know: it becomes 503 with type `overloaded_error` (both SDKs retry 503).
import {
  codeFromAnthropicType,
  codeFromStatus,
  type ErrorCode,
  openaiErrorBody,
  ProxyError,
} from "../errors.ts";
import { openaiResponseHeaders } from "./headers.ts";

export interface TranslatedError {
  status: number;
  headers: Record<string, string>;
  /** JSON text of `{"error":{"message","type","param","code"}}`. */
  body: string;
}

/** Retry hints both SDKs honour; everything else about the response is the Worker's to set. */
const RETRY_HEADERS = ["retry-after", "retry-after-ms", "x-should-retry"] as const;

/**
 * `type`/`code` come from the shared error table by the Anthropic `error.type` (or, for a body that
 * is not an Anthropic error, by the status); `billing_error` maps to OpenAI's `insufficient_quota`.
 */
export function translateUpstreamError(status: number, bodyText: string, headers: Headers): TranslatedError {
  const { type, message } = readError(bodyText);
  let code: ErrorCode;
  if (type === "billing_error") code = "budget_exhausted";
  else if (type !== undefined) code = codeFromAnthropicType(type, status);
  else code = codeFromStatus(status);
  const err = new ProxyError(code, message ?? fallbackMessage(status, bodyText));

  // Rate limits and the upstream request id matter most on errors (a 429 says when to come back).
  const out: Record<string, string> = {
    "content-type": "application/json",
    ...openaiResponseHeaders(headers),
  };
  for (const name of RETRY_HEADERS) {
    const value = headers.get(name);
    if (value !== null) out[name] = value;
  }
  return {
    status: status === 529 ? 503 : status,
    headers: out,
    body: JSON.stringify(openaiErrorBody(err)),
  };
}

/** Reads `{"type":"error","error":{type,message}}`, or the looser shapes proxies in between produce. */
function readError(text: string): { type: string | undefined; message: string | undefined } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { type: undefined, message: undefined };
  }
  if (typeof body !== "object" || body === null) return { type: undefined, message: undefined };
  const b = body as Record<string, unknown>;
  const inner = typeof b.error === "object" && b.error !== null ? (b.error as Record<string, unknown>) : b;
  return {
    type: typeof inner.type === "string" && inner.type !== "error" ? inner.type : undefined,
    message: typeof inner.message === "string" ? inner.message : undefined,
  };
}

/** Non-JSON bodies (an HTML page from a proxy, an empty body): a short, safe message. */
function fallbackMessage(status: number, text: string): string {
  const snippet = text.trim();
  return snippet !== "" && snippet.length <= 200 && !snippet.startsWith("<")
    ? `Upstream error (HTTP ${status}): ${snippet}`
    : `Upstream error (HTTP ${status}).`;
}
