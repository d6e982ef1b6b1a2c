// Anthropic's error responses as the mock sends them: one status → error.type table, the API's usual
// messages, and the body shape {"type":"error","error":{type,message},"request_id"}.
import type { ErrorBody } from "../shared/anthropic/types.ts";

/** error.type per HTTP status (https://docs.claude.com/en/api/errors). */
export const ERROR_TYPES: Readonly<Record<number, string>> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  405: "invalid_request_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  504: "timeout_error",
  529: "overloaded_error",
};

const DEFAULT_MESSAGES: Readonly<Record<number, string>> = {
  400: "Invalid request.",
  401: "invalid x-api-key",
  402: "Your credit balance is too low to access the Anthropic API.",
  403: "Your API key does not have permission to use the specified resource.",
  404: "Not found",
  405: "Method Not Allowed",
  413: "Request exceeds the maximum allowed number of bytes.",
  429: "Number of request tokens has exceeded your per-minute rate limit (https://docs.claude.com/en/api/rate-limits); see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later.",
  500: "Internal server error",
  504: "Request timed out",
  529: "Overloaded",
};

export function errorTypeFor(status: number): string {
  return ERROR_TYPES[status] ?? (status >= 500 ? "api_error" : "invalid_request_error");
}

export function defaultErrorMessage(status: number): string {
  return DEFAULT_MESSAGES[status] ?? "Error";
}

/** The status the API uses for an error.type (for replayed error fixtures). */
export function statusForErrorType(type: string): number {
  for (const [status, t] of Object.entries(ERROR_TYPES)) if (t === type) return Number(status);
  return 400;
}

export function errorBody(type: string, message: string, requestId: string): ErrorBody {
  return { type: "error", error: { type, message }, request_id: requestId };
}

/** Thrown by route handlers; the server renders it as an Anthropic error response. */
export class MockHttpError extends Error {
  readonly status: number;
  readonly type: string;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    message: string,
    opts: { type?: string; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = "MockHttpError";
    this.status = status;
    this.type = opts.type ?? errorTypeFor(status);
    this.headers = opts.headers ?? {};
  }
}

export const invalidRequest = (message: string): MockHttpError => new MockHttpError(400, message);
