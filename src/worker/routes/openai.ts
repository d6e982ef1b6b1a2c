// POST /api/v1/chat/completions: an OpenAI request converted to Anthropic's, sent through the same
// passthrough machinery (keys, headers, abort, metering), and the answer converted back, streamed.

import type { Message } from "../../shared/anthropic/types.ts";
import {
  AnthropicToOpenAIStream,
  anthropicToOpenAIResponse,
  openaiResponseHeaders,
  translateUpstreamError,
} from "../../shared/convert/index.ts";
import { openaiToAnthropicRequest } from "../../shared/convert/request.ts";
import { estimateRequest } from "../../shared/estimate.ts";
import { upstreamRequestHeaders } from "../../shared/http/headers.ts";
import { resolveModel } from "../../shared/models.ts";
import { SSE_HEADERS } from "../../shared/sse/encode.ts";
import { UsageReader } from "../../shared/usage.ts";
import type { Ctx } from "../context.ts";
import { parseJsonObject, readBody } from "../http/body.ts";
import { identify } from "../middleware/auth.ts";
import { callUpstream } from "../modes/api/passthrough.ts";
import { admitEstimate, Meter } from "../usage/meter.ts";

/** The client's headers minus network and auth ones, plus what the Messages API needs. */
function anthropicHeaders(c: Ctx): Headers {
  const headers = upstreamRequestHeaders(c.req.raw.headers);
  headers.set("content-type", "application/json");
  if (!headers.has("anthropic-version")) headers.set("anthropic-version", "2023-06-01");
  return headers;
}

export async function chatCompletions(c: Ctx): Promise<Response> {
  const meter = new Meter(c, await identify(c), { mode: "api", format: "openai" });
  return meter.guard(async () => {
    const config = c.get("config");
    const raw = parseJsonObject(await readBody(c.req.raw, config.maxBodyBytes));
    const { body, context } = openaiToAnthropicRequest(raw, {
      defaultMaxTokens: config.defaultMaxTokens,
      resolveModel: (name) => resolveModel(config.modelAliases, name),
    });
    meter.modelRequested = context.model;
    meter.modelUpstream = body.model;
    meter.stream = context.stream;
    const caller = await meter.admit(
      body.model,
      admitEstimate(body.model, estimateRequest(body, config.defaultMaxTokens)),
    );
    const upstream = await meter.upstream(() =>
      callUpstream(c, caller, {
        path: "/v1/messages",
        method: "POST",
        body: new TextEncoder().encode(JSON.stringify(body)),
        headers: anthropicHeaders(c),
      }),
    );

    if (!upstream.ok) {
      const text = await upstream.text();
      const reader = new UsageReader();
      try {
        reader.body(JSON.parse(text));
      } catch {
        // not JSON: the translation says so in a safe message
      }
      const t = translateUpstreamError(upstream.status, text, upstream.headers);
      // The ledger records the status the client got (529 is served as 503 on OpenAI routes).
      meter.finish({ status: t.status, errorType: reader.errorType, outcome: "complete" });
      return new Response(t.body, { status: t.status, headers: t.headers });
    }

    if (context.stream) {
      const tapped = meter.tap(upstream.body, upstream.headers.get("content-type"), upstream.status);
      const out = tapped?.pipeThrough(
        new AnthropicToOpenAIStream({ model: context.model, includeUsage: context.includeUsage }),
      );
      return new Response(out ?? null, {
        status: 200,
        headers: meter.serverTiming(
          new Headers({ ...SSE_HEADERS, ...openaiResponseHeaders(upstream.headers) }),
        ),
      });
    }

    const message = (await upstream.json()) as Message;
    const reader = new UsageReader();
    reader.body(message);
    meter.finish({
      status: 200,
      usage: reader.usage,
      model: reader.model,
      outcome: "complete",
    });
    return new Response(JSON.stringify(anthropicToOpenAIResponse(message, { model: context.model })), {
      headers: meter.serverTiming(
        new Headers({ "content-type": "application/json", ...openaiResponseHeaders(upstream.headers) }),
      ),
    });
  });
}
