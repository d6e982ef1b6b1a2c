// Timing and close codes of a tunnel connection, shared so the Durable Object and the sidecar agree:
// keep-alives well inside Cloudflare's 100 s idle limit, how a close says why, and reconnect backoff.

import { encodeFrame } from "./codec.ts";
import type { RejectReason } from "./frames.ts";

/** Each side sends a ping when it has received nothing for this long (≤ 30 s, per the spec). */
export const KEEPALIVE_INTERVAL_MS = 25_000;
/** Nothing received for this long: the peer is gone; close with CLOSE_CODES.idle and reconnect.
 * Two missed keep-alives plus margin, and still under Cloudflare's 100 s idle cut-off. */
export const PEER_TIMEOUT_MS = 70_000;

/**
 * A fixed keep-alive ping and its pong, byte for byte. A hibernating Durable Object can answer it
 * without waking up: `state.setWebSocketAutoResponse(new WebSocketRequestResponsePair(KEEPALIVE_PING,
 * KEEPALIVE_PONG))`; a Link that is awake answers it the same way.
 */
export const KEEPALIVE_PING: string = encodeControl({ type: "ping", nonce: "keepalive", ts: 0 });
export const KEEPALIVE_PONG: string = encodeControl({ type: "pong", nonce: "keepalive", ts: 0 });

/**
 * WebSocket close codes. Application codes (4000–4999) because browsers' and Node's WebSocket only let
 * a script close with 1000 or 3000–4999.
 */
export const CLOSE_CODES = {
  /** Done: drained, or shut down cleanly. */
  normal: 1000,
  /** The Worker said goaway and the streams finished. */
  goingAway: 4000,
  /** The handshake was refused (after `reject`). */
  rejected: 4001,
  /** A protocol violation: undecodable frame, bad order, flow-control overrun. */
  protocol: 4002,
  /** No auth (or welcome) within HANDSHAKE_WINDOW_MS. */
  handshakeTimeout: 4003,
  /** Nothing received for PEER_TIMEOUT_MS. */
  idle: 4004,
  /** A newer connection with the same sidecarId took over. */
  replaced: 4005,
} as const;

/** Sidecar reconnect backoff: exponential with equal jitter, reset once a link has stayed up. */
export const RECONNECT = {
  initialMs: 500,
  maxMs: 30_000,
  /** A link that lasted this long counts as healthy: the next failure starts again at attempt 0. */
  stableAfterMs: 60_000,
  /** After a refusal that retrying cannot fix (wrong secret, version, policy): wait this long. */
  afterRejectMs: 300_000,
} as const;

/** Refusals an operator must fix; hammering the Worker will not help. */
const PERMANENT = {
  wrong_secret: true,
  bad_version: true,
  policy: true,
  replayed: false,
  expired: false,
  unknown_nonce: false,
  malformed: false,
} as const satisfies Record<RejectReason, boolean>;

/**
 * Delay before reconnect attempt `attempt` (0-based): half the exponential ceiling plus a random
 * half, so it is never zero (no tight loop) and a fleet restarting together spreads out.
 */
export function reconnectDelay(
  attempt: number,
  rejected?: RejectReason,
  random: () => number = Math.random,
): number {
  if (rejected !== undefined && PERMANENT[rejected]) return RECONNECT.afterRejectMs;
  const ceiling = Math.min(RECONNECT.maxMs, RECONNECT.initialMs * 2 ** Math.max(0, Math.min(attempt, 30)));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

function encodeControl(frame: Parameters<typeof encodeFrame>[0]): string {
  const message = encodeFrame(frame);
  if (typeof message !== "string") throw new Error("keep-alive frames are text");
  return message;
}
