// The closed set of errors CCProxy itself produces, their HTTP statuses, and one renderer per wire
// format (Anthropic JSON, OpenAI JSON, and each one's in-stream form). Upstream errors in API mode are
// not rendered here: they pass through unchanged (Anthropic routes) or are translated (OpenAI routes).

import { sseData, sseEvent } from "./sse/encode.ts";

export const ERROR_CODES = {
  invalid_request: 400,
  authentication: 401,
  permission: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_too_large: 413,
  rate_limited: 429,
  budget_exhausted: 429,
  internal: 500,
  upstream_unreachable: 502,
  unavailable: 503,
  timeout: 504,
  overloaded: 529,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Anthropic's `error.type` for each code (https://docs.claude.com/en/api/errors). */
const ANTHROPIC_TYPE = {
  invalid_request: "invalid_request_error",
  authentication: "authentication_error",
  permission: "permission_error",
  not_found: "not_found_error",
  method_not_allowed: "invalid_request_error",
  request_too_large: "request_too_large",
  rate_limited: "rate_limit_error",
  budget_exhausted: "rate_limit_error",
  internal: "api_error",
  upstream_unreachable: "api_error",
  unavailable: "api_error",
  timeout: "timeout_error",
  overloaded: "overloaded_error",
} as const satisfies Record<ErrorCode, string>;

/** OpenAI's `error.type` and `error.code` for each code, as the OpenAI API and its SDKs use them. */
const OPENAI_SHAPE = {
  invalid_request: { type: "invalid_request_error", code: null },
  authentication: { type: "invalid_request_error", code: "invalid_api_key" },
  permission: { type: "permission_error", code: "permission_denied" },
  not_found: { type: "invalid_request_error", code: "not_found" },
  method_not_allowed: { type: "invalid_request_error", code: "method_not_allowed" },
  request_too_large: { type: "invalid_request_error", code: "request_too_large" },
  rate_limited: { type: "rate_limit_error", code: "rate_limit_exceeded" },
  budget_exhausted: { type: "insufficient_quota", code: "insufficient_quota" },
  internal: { type: "server_error", code: null },
  upstream_unreachable: { type: "server_error", code: "upstream_unreachable" },
  unavailable: { type: "server_error", code: "service_unavailable" },
  timeout: { type: "server_error", code: "timeout" },
  overloaded: { type: "overloaded_error", code: "overloaded" },
} as const satisfies Record<ErrorCode, { type: string; code: string | null }>;

/** Anthropic's `error.type` for one of our codes (also what the usage ledger records). */
export function anthropicErrorType(code: ErrorCode): string {
  return ANTHROPIC_TYPE[code];
}

/** OpenAI clients know no 529: overloaded becomes 503 there (their SDKs retry both). */
export function openaiStatus(code: ErrorCode): number {
  return code === "overloaded" ? 503 : ERROR_CODES[code];
}

export class ProxyError extends Error {
  readonly code: ErrorCode;
  readonly param: string | null;
  /** Seconds, for 429/503/529 answers. */
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, message: string, opts: { param?: string; retryAfter?: number } = {}) {
    super(message);
    this.name = "ProxyError";
    this.code = code;
    this.param = opts.param ?? null;
    this.retryAfter = opts.retryAfter;
  }

  get status(): number {
    return ERROR_CODES[this.code];
  }
}

export type WireFormat = "anthropic" | "openai";

export interface AnthropicErrorBody {
  type: "error";
  error: { type: string; message: string };
  request_id?: string;
}

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export function anthropicErrorBody(err: ProxyError, requestId?: string): AnthropicErrorBody {
  const body: AnthropicErrorBody = {
    type: "error",
    error: { type: ANTHROPIC_TYPE[err.code], message: err.message },
  };
  if (requestId !== undefined) body.request_id = requestId;
  return body;
}

export function openaiErrorBody(err: ProxyError): OpenAIErrorBody {
  const shape = OPENAI_SHAPE[err.code];
  return { error: { message: err.message, type: shape.type, param: err.param, code: shape.code } };
}

/** A complete HTTP error response in the route's format. */
export function errorResponse(
  format: WireFormat,
  err: ProxyError,
  requestId: string,
  extraHeaders?: Record<string, string>,
): Response {
  const headers = new Headers(extraHeaders);
  headers.set("content-type", "application/json");
  headers.set("x-request-id", requestId);
  if (format === "anthropic") headers.set("request-id", requestId);
  if (err.retryAfter !== undefined)
    headers.set("retry-after", String(Math.max(0, Math.ceil(err.retryAfter))));
  const status = format === "openai" ? openaiStatus(err.code) : err.status;
  const body = format === "anthropic" ? anthropicErrorBody(err, requestId) : openaiErrorBody(err);
  return new Response(JSON.stringify(body), { status, headers });
}

/** The error as it travels inside a stream whose headers were already sent. */
export function inStreamError(format: WireFormat, err: ProxyError, requestId?: string): string {
  return format === "anthropic"
    ? sseEvent("error", anthropicErrorBody(err, requestId))
    : sseData(openaiErrorBody(err));
}

/** Maps an Anthropic `error.type` (from an upstream error) to our code, for translation. */
export function codeFromAnthropicType(type: string, status?: number): ErrorCode {
  switch (type) {
    case "invalid_request_error":
      return status === 405 ? "method_not_allowed" : "invalid_request";
    case "authentication_error":
      return "authentication";
    case "permission_error":
    case "billing_error":
      return "permission";
    case "not_found_error":
      return "not_found";
    case "request_too_large":
      return "request_too_large";
    case "rate_limit_error":
      return "rate_limited";
    case "overloaded_error":
      return "overloaded";
    case "timeout_error":
      return "timeout";
    default:
      return codeFromStatus(status ?? 500);
  }
}

export function codeFromStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
      return "invalid_request";
    case 401:
      return "authentication";
    case 402:
    case 403:
      return "permission";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limited";
    case 502:
      return "upstream_unreachable";
    case 503:
      return "unavailable";
    case 504:
      return "timeout";
    case 529:
      return "overloaded";
    default:
      return status >= 400 && status < 500 ? "invalid_request" : "internal";
  }
}
