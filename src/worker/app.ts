// The CCProxy Hono app: every route of SPEC §1, errors in the route's format, 404 and 405 included.

import { Hono } from "hono";
import { errorResponse, ProxyError } from "../shared/errors.ts";
import type { AppEnv, Ctx } from "./context.ts";
import { ConfigError } from "./env.ts";
import { requestContext } from "./middleware/request-context.ts";
import { admin } from "./routes/admin.ts";
import { apiMode, countTokens } from "./routes/api.ts";
import { claudeCode, tunnel } from "./routes/claude-code.ts";
import { health } from "./routes/health.ts";
import { me } from "./routes/me.ts";
import { apiModel, apiModels, claudeCodeModel, claudeCodeModels } from "./routes/models.ts";

/** Prefixes that run Claude Code mode; `/sdk` and `/claude/sdk` are older CCProxy layouts. */
export const CC_PREFIXES = ["", "/cc", "/sdk", "/claude/sdk"] as const;
/** Prefixes that run API mode; `/claude` is an older CCProxy layout. */
export const API_PREFIXES = ["/api", "/claude"] as const;

function methodNotAllowed(allowed: string) {
  return (c: Ctx): never => {
    throw new ProxyError("method_not_allowed", `${c.req.method} is not allowed here; use ${allowed}.`);
  };
}

export function buildApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("*", requestContext);

  app.get("/health", health);
  app.all("/health", methodNotAllowed("GET"));
  app.get("/tunnel", tunnel);
  app.all("/tunnel", methodNotAllowed("GET"));
  app.route("/admin", admin);
  app.get("/v1/me", me);
  app.all("/v1/me", methodNotAllowed("GET"));

  for (const prefix of CC_PREFIXES) {
    app.post(`${prefix}/v1/messages/count_tokens`, countTokens);
    app.all(`${prefix}/v1/messages/count_tokens`, methodNotAllowed("POST"));
    app.post(`${prefix}/v1/messages`, claudeCode);
    app.all(`${prefix}/v1/messages`, methodNotAllowed("POST"));
    app.post(`${prefix}/v1/chat/completions`, claudeCode);
    app.all(`${prefix}/v1/chat/completions`, methodNotAllowed("POST"));
    app.get(`${prefix}/v1/models`, claudeCodeModels);
    app.all(`${prefix}/v1/models`, methodNotAllowed("GET"));
    app.get(`${prefix}/v1/models/:id`, claudeCodeModel);
  }
  for (const prefix of API_PREFIXES) {
    app.get(`${prefix}/v1/models`, apiModels);
    app.get(`${prefix}/v1/models/:id`, apiModel);
    app.all(`${prefix}/v1`, apiMode(prefix));
    app.all(`${prefix}/v1/*`, apiMode(prefix));
  }

  app.notFound((c) => {
    throw new ProxyError("not_found", `Not found: ${c.req.method} ${new URL(c.req.url).pathname}`);
  });

  app.onError((err, c) => {
    const requestId = c.get("requestId");
    const format = c.get("format") ?? "anthropic";
    if (err instanceof ProxyError) {
      const headers: Record<string, string> = {};
      if (err.code === "method_not_allowed") headers.allow = err.message.replace(/^.*use (.*)\.$/, "$1");
      return errorResponse(format, err, requestId, headers);
    }
    // Internal detail goes to the log, never to the client. A ConfigError's message names the
    // variable and its rule only (never the value), so the operator sees it on both sides.
    const detail = err instanceof ConfigError ? err.message : `${err.name}: ${err.message}`;
    console.error(`request ${requestId} failed: ${detail}`);
    const message =
      err instanceof ConfigError
        ? `CCProxy is misconfigured (${err.message}); the operator must fix the Worker's variables.`
        : `Internal error in CCProxy (request id ${requestId}).`;
    return errorResponse(format, new ProxyError("internal", message), requestId);
  });

  return app;
}
