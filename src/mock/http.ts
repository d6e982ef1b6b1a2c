// HTTP plumbing shared by the mock's routes: the per-request context, the route table type, JSON and
// error responses in Anthropic's shape, and the rate-limit headers of Messages responses.
import type { IncomingMessage, ServerResponse } from "node:http";
import { errorBody, MockHttpError } from "./errors.ts";

export interface RecordedRequest {
  /** The request-id the mock answered with. */
  id: string;
  method: string;
  /** Path and query, as received. */
  url: string;
  /** Lowercased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The exact bytes received. */
  body: Buffer;
  /** The parsed body, when it was JSON. */
  json?: unknown;
  /** The scenario the request was answered with, when one applied. */
  scenario?: string;
  status?: number;
  startedAt: number;
  endedAt?: number;
  /** The client went away before the response was complete. */
  clientClosedEarly: boolean;
}

export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  record: RecordedRequest;
  url: URL;
  /** The route pattern's captures, URL-decoded. */
  params: string[];
  body: Buffer;
  /** The body parsed as JSON (parsed once; a syntax error throws the API's 400). */
  json(): unknown;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  /** Called before the mock destroys the socket itself (`drop`), so it is not recorded as a client abort. */
  markDropped(): void;
}

export type Handler = (ctx: Ctx) => Promise<void> | void;

export interface Route {
  pattern: RegExp;
  methods: Partial<Record<string, Handler>>;
  /** Honours `x-mock-scenario: error …` / `ttfb=` from the header (Messages reads its own scenarios). */
  headerScenario: boolean;
}

export function findRoute(
  routes: readonly Route[],
  pathname: string,
): { route: Route; params: string[] } | undefined {
  for (const route of routes) {
    const m = route.pattern.exec(pathname);
    if (m) return { route, params: m.slice(1).map(safeDecode) };
  }
  return undefined;
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part; // a malformed escape is just an id that does not exist
  }
}

export function flattenHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

export function sendBytes(
  res: ServerResponse,
  status: number,
  contentType: string,
  bytes: Buffer | string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    ...headers,
    "content-type": contentType,
    "content-length": Buffer.byteLength(bytes),
  });
  res.end(bytes);
}

/** Renders an error as the API does; anything but a MockHttpError is the mock's own bug (500, logged). */
export function sendError(res: ServerResponse, requestId: string, err: unknown): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  if (!(err instanceof MockHttpError)) console.error("mock: internal error", err);
  const error = err instanceof MockHttpError ? err : new MockHttpError(500, "Internal server error");
  const retryable =
    error.status === 408 || error.status === 409 || error.status === 429 || error.status >= 500;
  sendJson(res, error.status, errorBody(error.type, error.message, requestId), {
    ...error.headers,
    "x-should-retry": String(retryable),
  });
}

// The reset stamps change once a second, so the header set is cached per second.
let rateLimitSecond = 0;
let rateLimitCache: Readonly<Record<string, string>> = {};

/** anthropic-ratelimit-* headers with plausible values and RFC 3339 reset times. */
export function rateLimitHeaders(): Readonly<Record<string, string>> {
  const second = Math.floor(Date.now() / 1000);
  if (second !== rateLimitSecond) {
    rateLimitSecond = second;
    const reset = new Date((second + 1) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
    const limits = { requests: 4000, tokens: 2_400_000, "input-tokens": 2_000_000, "output-tokens": 400_000 };
    const headers: Record<string, string> = {};
    for (const [kind, limit] of Object.entries(limits)) {
      headers[`anthropic-ratelimit-${kind}-limit`] = String(limit);
      headers[`anthropic-ratelimit-${kind}-remaining`] = String(kind === "requests" ? limit - 1 : limit);
      headers[`anthropic-ratelimit-${kind}-reset`] = reset;
    }
    rateLimitCache = headers;
  }
  return rateLimitCache;
}
