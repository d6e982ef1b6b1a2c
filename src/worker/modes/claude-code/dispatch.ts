// Claude Code mode, Worker side: hands an admitted request to the TunnelHub Durable Object, retries
// once on another sidecar after a refusal, renders what went wrong before the head in the route's
// format, and turns the sidecar's end trailer into the summary the usage ledger records.

import { errorResponse, ProxyError, type WireFormat } from "../../../shared/errors.ts";
import { clientResponseHeaders } from "../../../shared/http/headers.ts";
import type { Header, RequestHead, StreamFailure } from "../../../shared/tunnel/index.ts";
import type { Ctx } from "../../context.ts";
import type { Caller } from "../../middleware/auth.ts";
import { failureError } from "./failures.ts";
import type { TunnelHub } from "./hub.ts";
import type { DispatchResult } from "./rpc.ts";
import { type SidecarSummary, summarize } from "./summary.ts";

export type { SidecarSummary } from "./summary.ts";

export interface SidecarRun {
  response: Response;
  /** Resolves once the body ended, failed or was cancelled. Never rejects. */
  done: Promise<SidecarSummary>;
}

/** Client headers the runner may use. Never credentials: the sidecar runs on its own login. */
const FORWARDED = ["content-type", "accept", "anthropic-version", "anthropic-beta", "user-agent"];
/** The frame limit on `keyName`. */
const MAX_KEY_NAME = 256;
/** Bodies up to this size cross to the hub inside the RPC message; larger ones as a stream. */
const INLINE_BODY_BYTES = 1024 * 1024;
/** Refusals from before anything ran: another sidecar may well take the request. */
const RETRYABLE = new Set(["unavailable", "overloaded", "rate_limited"]);

export function hub(env: Env): DurableObjectStub<TunnelHub> {
  return env.HUB.get(env.HUB.idFromName("hub"));
}

/**
 * `onClientGone`: the client left before the response head. The runtime then drops the rest of this
 * request's work (this function never returns), so what the sidecar ran until it stopped is handed
 * over here, collected inside `waitUntil`.
 */
export async function dispatchToSidecar(
  c: Ctx,
  caller: Caller,
  req: { format: WireFormat; path: string; body: Uint8Array },
  onClientGone: (done: Promise<SidecarSummary>) => void,
): Promise<SidecarRun> {
  const stub = hub(c.env);
  const requestId = c.get("requestId");
  const head: RequestHead = {
    requestId,
    method: "POST",
    path: req.path,
    headers: forwardedHeaders(c.req.raw.headers),
    keyId: caller.keyId,
    keyName: caller.record.name.slice(0, MAX_KEY_NAME),
    format: req.format,
  };
  // Whatever a sidecar ran is reported by the hub once its stream ended: completed, failed, or
  // cancelled before or after the head (then the sidecar's summary of the stopped run).
  const outcome = () => {
    const done = stub.outcome(requestId).then(
      (summary): SidecarSummary => summary,
      (e: unknown) => {
        console.error(`request ${requestId}: no outcome from the tunnel hub: ${String(e)}`);
        return { ...summarize(null), usageKnown: false };
      },
    );
    c.executionCtx.waitUntil(done);
    return done;
  };
  let answered = false;
  const cancel = () => {
    try {
      const cancelled = stub.cancel(requestId, "client disconnected").catch(() => {});
      c.executionCtx.waitUntil(cancelled);
      if (!answered) onClientGone(cancelled.then(outcome));
    } catch {
      // The request's context is already gone; the hub learns from the cancelled body instead.
    }
  };
  // Before the head there is no response stream yet: the request's signal says the client left
  // (a run that does not stream can take minutes to its first byte).
  const signal = c.req.raw.signal;
  signal.addEventListener("abort", cancel, { once: true });

  const attempt = async (exclude: string[], waitMs: number): Promise<DispatchResult> =>
    await stub.dispatch({
      head,
      body: req.body.byteLength <= INLINE_BODY_BYTES ? req.body : bytesStream(req.body),
      exclude,
      waitMs,
    });
  let result = await attempt([], c.get("config").sidecarWaitMs);
  if (!result.ok && result.linkId !== null && retryable(result.failure)) {
    const again = await attempt([result.linkId], 0);
    // No other sidecar free right now: the first sidecar's refusal says more than "none".
    if (again.ok || again.linkId !== null) result = again;
  }

  // The signal still tells the hub when the client leaves mid-stream (the body's cancel may not
  // cross RPC); what was used then is this response's `done`.
  answered = true;
  if (!result.ok) {
    signal.removeEventListener("abort", cancel);
    const err =
      result.linkId === null
        ? new ProxyError(result.noSidecar.code, result.noSidecar.message, {
            retryAfter: result.noSidecar.retryAfter,
          })
        : failureError(result.failure);
    return {
      response: errorResponse(req.format, err, requestId),
      done: result.linkId === null ? Promise.resolve(summarize(null)) : outcome(),
    };
  }

  const done = outcome();
  const headers = clientResponseHeaders(new Headers(result.headers));
  // A client that leaves mid-stream cancels this body; the cancel crosses RPC to the hub's relay,
  // which sends `cancel` to the sidecar.
  return { response: new Response(result.body, { status: result.status, headers }), done };
}

function retryable(failure: StreamFailure): boolean {
  return failure.kind === "error" && !failure.headersSent && RETRYABLE.has(failure.code);
}

function forwardedHeaders(headers: Headers): Header[] {
  const out: Header[] = [];
  for (const name of FORWARDED) {
    const value = headers.get(name);
    if (value !== null) out.push([name, value]);
  }
  return out;
}

function bytesStream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (bytes.byteLength > 0) controller.enqueue(bytes);
      controller.close();
    },
  });
}
