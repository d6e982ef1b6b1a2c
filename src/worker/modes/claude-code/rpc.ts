// What the Worker and the TunnelHub Durable Object pass each other over Workers RPC: one dispatch
// (a request to relay to a sidecar) and its result. Plain data plus streams, so it crosses RPC as is.

import type { ErrorCode } from "../../../shared/errors.ts";
import type { RequestHead, StreamFailure } from "../../../shared/tunnel/index.ts";

export interface DispatchRequest {
  /** The `req_head` for the sidecar. `head.requestId` also names the relay in `outcome`/`cancel`. */
  head: RequestHead;
  /** The request body, already read and size-checked by the Worker. Bytes when small (the usual
   * JSON request: no stream to set up); a stream when large, because an RPC message is capped at
   * 32 MiB like the body itself (the hub then pulls it only as the sidecar grants credit). */
  body: Uint8Array | ReadableStream<Uint8Array>;
  /** Link ids already tried for this request (a retry after a refusal). */
  exclude: string[];
  /** How long to wait for an eligible sidecar to connect or free up; 0 = answer at once. */
  waitMs: number;
}

/** Why no sidecar took the request, decided by the hub before anything ran. */
export interface NoSidecar {
  code: Extract<ErrorCode, "unavailable" | "overloaded">;
  message: string;
  retryAfter: number;
}

export type DispatchResult =
  /** The sidecar answered with a head: the body streams from it (errors inside it already rendered). */
  | { ok: true; linkId: string; status: number; headers: string[][]; body: ReadableStream<Uint8Array> }
  /** A sidecar took the request and ended it before any head (refusal, error, link lost). */
  | { ok: false; linkId: string; failure: StreamFailure }
  /** No eligible sidecar within the wait. */
  | { ok: false; linkId: null; noSidecar: NoSidecar };

export interface HubStats {
  /** Connected, authenticated sidecars. */
  sidecars: number;
}
