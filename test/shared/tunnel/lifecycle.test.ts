// Connection timing and close codes: keep-alives inside Cloudflare's idle limit, close codes a browser
// or Node WebSocket may send, and a reconnect backoff that never spins and never hammers.

import { describe, expect, it } from "vitest";
import { decodeFrame } from "../../../src/shared/tunnel/codec.ts";
import {
  CLOSE_CODES,
  KEEPALIVE_INTERVAL_MS,
  KEEPALIVE_PING,
  KEEPALIVE_PONG,
  PEER_TIMEOUT_MS,
  RECONNECT,
  reconnectDelay,
} from "../../../src/shared/tunnel/lifecycle.ts";

describe("keep-alive", () => {
  it("pings at most every 30 s and gives up on a peer before Cloudflare's 100 s idle cut-off", () => {
    expect(KEEPALIVE_INTERVAL_MS).toBeLessThanOrEqual(30_000);
    expect(PEER_TIMEOUT_MS).toBeGreaterThanOrEqual(2 * KEEPALIVE_INTERVAL_MS);
    expect(PEER_TIMEOUT_MS).toBeLessThan(100_000);
  });

  it("uses a fixed ping/pong pair that are ordinary frames", () => {
    expect(decodeFrame(KEEPALIVE_PING)).toEqual({
      ok: true,
      frame: { type: "ping", nonce: "keepalive", ts: 0 },
    });
    expect(decodeFrame(KEEPALIVE_PONG)).toEqual({
      ok: true,
      frame: { type: "pong", nonce: "keepalive", ts: 0 },
    });
  });
});

describe("close codes", () => {
  it("are all codes a script may send (1000 or 3000–4999) and distinct", () => {
    const codes = Object.values(CLOSE_CODES);
    for (const code of codes) expect(code === 1000 || (code >= 3000 && code <= 4999)).toBe(true);
    expect(new Set(codes).size).toBe(codes.length);
  });
});

describe("reconnectDelay", () => {
  it("grows exponentially between half and all of the ceiling", () => {
    expect(reconnectDelay(0, undefined, () => 0)).toBe(RECONNECT.initialMs / 2);
    expect(reconnectDelay(0, undefined, () => 1)).toBe(RECONNECT.initialMs);
    expect(reconnectDelay(3, undefined, () => 0)).toBe((RECONNECT.initialMs * 8) / 2);
  });

  it("never exceeds the cap, even after many attempts", () => {
    for (const attempt of [10, 100, 10_000, Number.MAX_SAFE_INTEGER])
      expect(reconnectDelay(attempt, undefined, () => 1)).toBe(RECONNECT.maxMs);
  });

  it("is never zero (no tight reconnect loop)", () => {
    expect(reconnectDelay(0, undefined, () => 0)).toBeGreaterThan(0);
    expect(reconnectDelay(-5, undefined, () => 0)).toBeGreaterThan(0);
  });

  it("waits long after a refusal retrying cannot fix, and normally after a transient one", () => {
    for (const reason of ["wrong_secret", "bad_version", "policy"] as const)
      expect(reconnectDelay(0, reason)).toBe(RECONNECT.afterRejectMs);
    for (const reason of ["expired", "replayed", "unknown_nonce", "malformed"] as const)
      expect(reconnectDelay(0, reason, () => 1)).toBe(RECONNECT.initialMs);
  });
});
