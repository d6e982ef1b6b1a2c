// API mode: one request to the Anthropic API with the caller's bytes, the client's headers and the
// right credential; the answer streamed back as it arrives. A client disconnect aborts the upstream.

import { ProxyError } from "../../../shared/errors.ts";
import { clientResponseHeaders, upstreamRequestHeaders } from "../../../shared/http/headers.ts";
import { upstreamUrl } from "../../../shared/http/paths.ts";
import type { Ctx } from "../../context.ts";
import { type Caller, upstreamCredential } from "../../middleware/auth.ts";

export interface UpstreamCall {
  /** A clean `/v1/...` path (see cleanUpstreamPath). */
  path: string;
  body: Uint8Array | ReadableStream<Uint8Array> | null;
  /** Headers to send instead of the client's (OpenAI routes build their own). */
  headers?: Headers;
  method?: string;
}

/** Sends the request upstream; throws ProxyError("upstream_unreachable") when no response comes back. */
export async function callUpstream(c: Ctx, caller: Caller, call: UpstreamCall): Promise<Response> {
  const config = c.get("config");
  const search = new URL(c.req.url).search;
  const headers = call.headers ?? upstreamRequestHeaders(c.req.raw.headers);
  upstreamCredential(c, caller).forEach((value, name) => {
    headers.set(name, value);
  });
  const signal = c.req.raw.signal;
  try {
    return await fetch(upstreamUrl(config.upstreamBase, call.path, search), {
      method: call.method ?? c.req.method,
      headers,
      body: call.body,
      signal,
      redirect: "manual",
    });
  } catch (e) {
    if (e instanceof ProxyError) throw e;
    if (signal.aborted) throw new ProxyError("invalid_request", "client closed the request");
    console.error(`upstream fetch failed (${c.get("requestId")}): ${e instanceof Error ? e.name : "error"}`);
    throw new ProxyError("upstream_unreachable", "CCProxy could not reach the Anthropic API.");
  }
}

/** Passthrough: status, headers and body as the upstream sent them, body streamed, not buffered. */
export async function forward(c: Ctx, caller: Caller, call: UpstreamCall): Promise<Response> {
  const upstream = await callUpstream(c, caller, call);
  return new Response(upstream.body, {
    status: upstream.status,
    headers: clientResponseHeaders(upstream.headers),
  });
}
