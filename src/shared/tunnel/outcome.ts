// How a tunnel stream ended, as both sides' handles report it, and the error a broken body stream
// carries, so the Worker can render an in-stream error and the sidecar can stop its run.

import type { ErrorCode } from "../errors.ts";
import type { ErrorFrame, Header, Trailer } from "./frames.ts";

export type StreamOutcome =
  /** `res_end`: the response is complete. */
  | { kind: "end"; trailer?: Trailer }
  /** `error` from the sidecar. */
  | { kind: "error"; code: ErrorCode; message: string; headersSent: boolean; retryAfter?: number }
  /** `cancel`, sent by this side (`local`) or the peer. */
  | { kind: "cancelled"; by: "local" | "peer"; reason?: string }
  /** The link closed (or broke the protocol) while the stream was open. */
  | { kind: "lost"; reason: string };

/** A body stream that ended other than with `res_end`/`req_end` errors with this. */
export class TunnelStreamError extends Error {
  readonly outcome: StreamFailure;
  constructor(outcome: StreamFailure) {
    super(describe(outcome));
    this.name = "TunnelStreamError";
    this.outcome = outcome;
  }
}

export type TunnelResponse =
  | { ok: true; status: number; headers: Header[]; body: ReadableStream<Uint8Array> }
  | { ok: false; outcome: StreamFailure };

/** Every way a stream can end other than completing. */
export type StreamFailure = Exclude<StreamOutcome, { kind: "end" }>;

export function cancelled(
  by: "local" | "peer",
  reason: string | undefined,
): StreamOutcome & { kind: "cancelled" } {
  return reason === undefined ? { kind: "cancelled", by } : { kind: "cancelled", by, reason };
}

export function errorOutcome(frame: ErrorFrame): StreamOutcome & { kind: "error" } {
  const { code, message, headersSent, retryAfter } = frame;
  return retryAfter === undefined
    ? { kind: "error", code, message, headersSent }
    : { kind: "error", code, message, headersSent, retryAfter };
}

function describe(outcome: StreamFailure): string {
  switch (outcome.kind) {
    case "error":
      return `tunnel stream failed: ${outcome.code}: ${outcome.message}`;
    case "cancelled":
      return `tunnel stream cancelled by the ${outcome.by === "local" ? "local side" : "peer"}${outcome.reason ? `: ${outcome.reason}` : ""}`;
    case "lost":
      return `tunnel stream lost: ${outcome.reason}`;
  }
}
