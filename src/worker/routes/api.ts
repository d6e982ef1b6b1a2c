// API mode routes: `/api/v1/*` (and the `/claude/v1/*` alias) passed through to the Anthropic API,
// plus count_tokens under every prefix. Every request with a key is metered (see usage/meter.ts).

import { ProxyError } from "../../shared/errors.ts";
import { estimateRequest } from "../../shared/estimate.ts";
import { cleanUpstreamPath } from "../../shared/http/paths.ts";
import type { Ctx } from "../context.ts";
import { checkDeclaredLength, parseJsonObject, readBody } from "../http/body.ts";
import { identify } from "../middleware/auth.ts";
import { callUpstream, endStreamsCleanly } from "../modes/api/passthrough.ts";
import type { Mode } from "../storage/keys.ts";
import { modelAllowed } from "../storage/keys.ts";
import { admitEstimate, FREE, Meter } from "../usage/meter.ts";
import { chatCompletions } from "./openai.ts";

/** The upstream path for a request under `prefix`, or 404 when it is not a clean `/v1/...` path. */
export function upstreamPathAfter(c: Ctx, prefix: string): string {
  const raw = new URL(c.req.url).pathname.slice(prefix.length);
  const path = cleanUpstreamPath(raw);
  if (path === null)
    throw new ProxyError("not_found", "Not found: API mode proxies only plain /v1/... paths.");
  return path;
}

/**
 * A JSON request naming a `model` the key must be allowed to use; its cost is reserved from the
 * body (prompt estimate + max_tokens) unless the route is free. The bytes go upstream unchanged.
 */
async function forwardJson(c: Ctx, path: string, mode: Mode | null, free: boolean): Promise<Response> {
  const meter = new Meter(c, await identify(c), { mode, format: "anthropic" });
  return meter.guard(async () => {
    const config = c.get("config");
    const bytes = await readBody(c.req.raw, config.maxBodyBytes);
    const body = parseJsonObject(bytes);
    const model = typeof body.model === "string" ? body.model : null;
    meter.modelRequested = model;
    meter.modelUpstream = model;
    meter.stream = body.stream === true;
    const estimate = free ? FREE : admitEstimate(model, estimateRequest(body, config.defaultMaxTokens));
    const caller = await meter.admit(model, estimate);
    const upstream = await meter.upstream(() => callUpstream(c, caller, { path, body: bytes }));
    return endStreamsCleanly(c, meter.passthrough(upstream));
  });
}

/**
 * Message Batches name a model per request, every one of which must be allowed. Batch usage is only
 * known when results are fetched, so keys with a budget may not create batches.
 */
async function forwardBatch(c: Ctx, path: string): Promise<Response> {
  const meter = new Meter(c, await identify(c), { mode: "api", format: "anthropic" });
  return meter.guard(async () => {
    const bytes = await readBody(c.req.raw, c.get("config").maxBodyBytes);
    const body = parseJsonObject(bytes);
    const caller = await meter.admit(null, null);
    const { record } = caller;
    if (
      record.budget_usd_day !== null ||
      record.budget_usd_month !== null ||
      record.tokens_per_day !== null
    ) {
      throw new ProxyError(
        "permission",
        "this key has a budget, and Message Batches cannot be metered against it; use /v1/messages",
      );
    }
    const requests = Array.isArray(body.requests) ? body.requests : [];
    for (const r of requests) {
      const model = (r as { params?: { model?: unknown } } | null)?.params?.model;
      if (typeof model === "string" && !modelAllowed(record.models, model)) {
        throw new ProxyError("permission", `this key is not allowed to use model "${model}"`);
      }
    }
    const upstream = await meter.upstream(() => callUpstream(c, caller, { path, body: bytes }));
    return endStreamsCleanly(c, meter.passthrough(upstream));
  });
}

/** Any other /v1 path and method (files, batch results, model details…): streamed both ways. */
async function forwardStream(c: Ctx, path: string): Promise<Response> {
  const meter = new Meter(c, await identify(c), { mode: "api", format: "anthropic" });
  return meter.guard(async () => {
    const limit = c.get("config").maxBodyBytes;
    checkDeclaredLength(c.req.raw, limit);
    const caller = await meter.admit(null, null, { method: c.req.method, path });
    // Streamed, not buffered (files can be large): callUpstream cuts it off at the limit.
    const body = c.req.raw.body;
    const upstream = await meter.upstream(() => callUpstream(c, caller, { path, body }));
    return endStreamsCleanly(c, meter.passthrough(upstream));
  });
}

export function apiMode(prefix: string) {
  return (c: Ctx): Promise<Response> => {
    const path = upstreamPathAfter(c, prefix);
    if (c.req.method === "POST") {
      if (path === "/v1/messages") return forwardJson(c, path, "api", false);
      if (path === "/v1/messages/count_tokens") return forwardJson(c, path, null, true);
      if (path === "/v1/messages/batches") return forwardBatch(c, path);
      if (path === "/v1/chat/completions") return chatCompletions(c);
    }
    return forwardStream(c, path);
  };
}

/** count_tokens outside `/api`: free to call, so any key may, whatever its modes. */
export function countTokens(c: Ctx): Promise<Response> {
  return forwardJson(c, "/v1/messages/count_tokens", null, true);
}
