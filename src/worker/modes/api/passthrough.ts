// API mode: one request to the Anthropic API with the caller's bytes, the client's headers and the
// right credential; the answer streamed back as it arrives. A client disconnect aborts the upstream.

import { inStreamError, ProxyError } from "../../../shared/errors.ts";
import { upstreamRequestHeaders } from "../../../shared/http/headers.ts";
import { upstreamUrl } from "../../../shared/http/paths.ts";
import { utf8 } from "../../../shared/sse/encode.ts";
import { wholeEventsOrError } from "../../../shared/sse/whole-events.ts";
import type { Ctx } from "../../context.ts";
import { limitedBody, tooLarge } from "../../http/body.ts";
import { type Caller, upstreamCredential } from "../../middleware/auth.ts";

export interface UpstreamCall {
  /** A clean `/v1/...` path (see cleanUpstreamPath). */
  path: string;
  /** Bytes already read (and limited), or the client's body streamed on, cut off past MAX_BODY_BYTES. */
  body: Uint8Array | ReadableStream<Uint8Array> | null;
  /** Headers to send instead of the client's (OpenAI routes build their own). */
  headers?: Headers;
  method?: string;
}

/**
 * Sends the request upstream. Throws ProxyError: "upstream_unreachable" when no response comes back,
 * "request_too_large" when a streamed body passes the limit (the upstream request is aborted, so the
 * upstream never acts on a cut-off body), "invalid_request" when the client left first.
 */
export async function callUpstream(c: Ctx, caller: Caller, call: UpstreamCall): Promise<Response> {
  const config = c.get("config");
  const search = new URL(c.req.url).search;
  const headers = call.headers ?? upstreamRequestHeaders(c.req.raw.headers);
  upstreamCredential(c, caller).forEach((value, name) => {
    headers.set(name, value);
  });

  // Our own controller, not `c.req.raw.signal` itself: workerd never passes the incoming request's
  // signal on to subrequests (without the request_signal_passthrough flag `fetch` silently drops
  // it), but it does fire its `abort` event when the client disconnects before the response.
  // (Aborted without a reason: workerd logs a custom reason as an uncaught exception.)
  const upstream = new AbortController();
  const clientSignal = c.req.raw.signal;
  const clientLeft = () => upstream.abort();
  if (clientSignal.aborted) clientLeft();
  else clientSignal.addEventListener("abort", clientLeft, { once: true });

  let overflowed = false;
  const body =
    call.body instanceof ReadableStream
      ? limitedBody(call.body, config.maxBodyBytes, () => {
          overflowed = true;
          upstream.abort();
        })
      : call.body;

  try {
    return await fetch(upstreamUrl(config.upstreamBase, call.path, search), {
      method: call.method ?? c.req.method,
      headers,
      body,
      signal: upstream.signal,
      redirect: "manual",
    });
  } catch (e) {
    if (overflowed) throw tooLarge(config.maxBodyBytes);
    if (clientSignal.aborted) throw new ProxyError("invalid_request", "client closed the request");
    console.error(`upstream fetch failed (${c.get("requestId")}): ${e instanceof Error ? e.name : "error"}`);
    throw new ProxyError("upstream_unreachable", "CCProxy could not reach the Anthropic API.");
  }
}

/**
 * An Anthropic-format answer as the client gets it. A stream (text/event-stream) whose upstream
 * connection breaks ends with an `event: error` (api_error) and a clean end, as SPEC §7 says errors
 * travel after the headers; never as a reset connection. Other bodies pass unchanged: a cut-off
 * JSON body cannot be repaired (the usage tap records the failure either way).
 */
export function endStreamsCleanly(c: Ctx, res: Response): Response {
  const type = res.headers.get("content-type")?.toLowerCase() ?? "";
  if (res.body === null || !type.startsWith("text/event-stream")) return res;
  const requestId = c.get("requestId");
  const body = wholeEventsOrError(res.body, (e) => {
    console.error(`upstream stream lost (${requestId}): ${e instanceof Error ? e.name : "error"}`);
    const err = new ProxyError(
      "upstream_unreachable",
      "The upstream connection to the Anthropic API was lost mid-stream; this response is incomplete.",
    );
    return utf8(inStreamError("anthropic", err, requestId));
  });
  return new Response(body, { status: res.status, headers: res.headers });
}
