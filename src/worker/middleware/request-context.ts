// First middleware: a request id, the route's error format, and the parsed config for every request;
// the request id on every response. Paths a URL parser could reinterpret are refused here, on every route.

import type { MiddlewareHandler } from "hono";
import { ProxyError, type WireFormat } from "../../shared/errors.ts";
import { pathProblem, rawPath } from "../../shared/http/paths.ts";
import { requestId } from "../../shared/ids.ts";
import type { AppEnv } from "../context.ts";
import { loadConfig } from "../env.ts";

/** OpenAI-format routes; every other route answers errors in Anthropic's format. */
export function formatForPath(path: string): WireFormat {
  return path.endsWith("/chat/completions") ? "openai" : "anthropic";
}

export const requestContext: MiddlewareHandler<AppEnv> = async (c, next) => {
  const id = requestId();
  c.set("requestId", id);
  c.set("format", formatForPath(new URL(c.req.url).pathname));
  c.set("config", loadConfig(c.env));
  const problem = pathProblem(rawPath(c.req.url));
  if (problem !== null) {
    throw new ProxyError("invalid_request", `CCProxy refuses request paths containing ${problem}.`);
  }
  await next();
  const headers = c.res.headers;
  if (!headers.has("x-request-id")) headers.set("x-request-id", id);
  if (c.get("format") === "anthropic" && !headers.has("request-id")) headers.set("request-id", id);
};
