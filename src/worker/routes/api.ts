// API mode routes: `/api/v1/*` (and the `/claude/v1/*` alias) passed through to the Anthropic API,
// plus count_tokens under every prefix.

import { ProxyError } from "../../shared/errors.ts";
import { cleanUpstreamPath } from "../../shared/http/paths.ts";
import type { Ctx } from "../context.ts";
import { checkDeclaredLength, limitStream, parseJsonObject, readBody } from "../http/body.ts";
import { admit, identify } from "../middleware/auth.ts";
import { forward } from "../modes/api/passthrough.ts";
import { modelAllowed } from "../storage/keys.ts";

/** The upstream path for a request under `prefix`, or 404 when it is not a clean `/v1/...` path. */
export function upstreamPathAfter(c: Ctx, prefix: string): string {
  const raw = new URL(c.req.url).pathname.slice(prefix.length);
  const path = cleanUpstreamPath(raw);
  if (path === null)
    throw new ProxyError("not_found", "Not found: API mode proxies only plain /v1/... paths.");
  return path;
}

/** A JSON request whose `model` the key must be allowed to use. The bytes go upstream unchanged. */
async function forwardJson(c: Ctx, path: string, mode: "api" | null): Promise<Response> {
  const identity = await identify(c);
  const bytes = await readBody(c.req.raw, c.get("config").maxBodyBytes);
  const body = parseJsonObject(bytes);
  const model = typeof body.model === "string" ? body.model : null;
  const caller = await admit(c, identity, { mode, model });
  return forward(c, caller, { path, body: bytes });
}

/** Message Batches name a model per request: every one must be allowed. */
async function forwardBatch(c: Ctx, path: string): Promise<Response> {
  const identity = await identify(c);
  const bytes = await readBody(c.req.raw, c.get("config").maxBodyBytes);
  const body = parseJsonObject(bytes);
  const caller = await admit(c, identity, { mode: "api", model: null });
  const requests = Array.isArray(body.requests) ? body.requests : [];
  for (const r of requests) {
    const model = (r as { params?: { model?: unknown } } | null)?.params?.model;
    if (typeof model === "string" && !modelAllowed(caller.record.models, model)) {
      throw new ProxyError("permission", `this key is not allowed to use model "${model}"`);
    }
  }
  return forward(c, caller, { path, body: bytes });
}

async function forwardStream(c: Ctx, path: string): Promise<Response> {
  const identity = await identify(c);
  const caller = await admit(c, identity, { mode: "api", model: null });
  const limit = c.get("config").maxBodyBytes;
  checkDeclaredLength(c.req.raw, limit);
  const body = c.req.raw.body === null ? null : c.req.raw.body.pipeThrough(limitStream(limit));
  return forward(c, caller, { path, body });
}

export function apiMode(prefix: string) {
  return (c: Ctx): Promise<Response> => {
    const path = upstreamPathAfter(c, prefix);
    if (c.req.method === "POST") {
      if (path === "/v1/messages") return forwardJson(c, path, "api");
      if (path === "/v1/messages/count_tokens") return forwardJson(c, path, null);
      if (path === "/v1/messages/batches") return forwardBatch(c, path);
    }
    return forwardStream(c, path);
  };
}

/** count_tokens outside `/api`: free to call, so any key may, whatever its modes. */
export function countTokens(c: Ctx): Promise<Response> {
  return forwardJson(c, "/v1/messages/count_tokens", null);
}
