// Sample frames and helpers shared by the tunnel tests: one valid frame of every type, a seeded PRNG
// for fuzzing, and a way to let queued microtasks and timers run.

import type { Frame } from "../../../src/shared/tunnel/frames.ts";

export const SECRET = "test-tunnel-secret-0123456789abcdef0123456789";
export const HOST = "ccproxy.example.com";
export const NONCE_A = "A".repeat(43);
export const NONCE_B = `${"B".repeat(42)}A`;

/** Every frame type at least once, optional fields both present and absent. */
export const SAMPLE_FRAMES: Frame[] = [
  { type: "hello", sidecarId: "sc-1", name: "laptop", version: "0.1.0", maxConcurrent: 4 },
  {
    type: "hello",
    sidecarId: "sc-2",
    name: "anna's mac",
    version: "0.1.0",
    maxConcurrent: 1,
    serveKeys: ["k1", "k2"],
    features: ["summary", "from-a-newer-sidecar"],
  },
  { type: "challenge", nonce: NONCE_A, ts: 1_700_000_000_000 },
  { type: "auth", challenge: NONCE_A, nonce: NONCE_B, mac: "m".repeat(43) },
  { type: "welcome", linkId: "link-1", mac: "w".repeat(43) },
  { type: "welcome", linkId: "link-2", mac: "w".repeat(43), features: ["summary"] },
  { type: "reject", reason: "wrong_secret", message: "authentication failed" },
  {
    type: "req_head",
    stream: 1,
    requestId: "req_01",
    method: "POST",
    path: "/v1/messages?beta=true",
    headers: [
      ["content-type", "application/json"],
      ["anthropic-beta", "a,b"],
      ["x-empty", ""],
    ],
    keyId: "key_1",
    keyName: "anna",
    format: "anthropic",
    hasBody: true,
  },
  {
    type: "req_head",
    stream: 0xffff_ffff,
    requestId: "req_02",
    method: "GET",
    path: "/v1/models",
    headers: [],
    keyId: "key_2",
    keyName: "",
    format: "openai",
    hasBody: false,
  },
  { type: "req_body", stream: 1, chunk: new Uint8Array([0, 1, 2, 255]) },
  { type: "req_end", stream: 1 },
  { type: "res_head", stream: 1, status: 200, headers: [["content-type", "text/event-stream"]] },
  { type: "res_body", stream: 1, chunk: new TextEncoder().encode("event: ping\ndata: {}\n\n") },
  { type: "res_end", stream: 1 },
  {
    type: "res_end",
    stream: 1,
    trailer: {
      usage: { input_tokens: 10, output_tokens: 0 },
      costUsd: 0.0012,
      model: null,
      ok: false,
      tags: [],
    },
  },
  { type: "error", stream: 2, code: "overloaded", message: "busy", headersSent: false, retryAfter: 1 },
  { type: "error", stream: 2, code: "internal", message: "", headersSent: true },
  { type: "cancel", stream: 3 },
  { type: "cancel", stream: 3, reason: "client disconnected" },
  { type: "credit", stream: 1, bytes: 65_536 },
  { type: "ping", nonce: "n1", ts: 0 },
  { type: "pong", nonce: "n1", ts: 1_700_000_000_123 },
  { type: "drain" },
  { type: "drain", reason: "SIGTERM" },
  { type: "goaway" },
  { type: "goaway", reason: "deploy", reconnectAfterMs: 0 },
  { type: "summary", stream: 3, trailer: { usage: { input_tokens: 7 }, costUsd: 0, outcome: "aborted" } },
];

/** Mulberry32: small, seeded, good enough to fuzz a decoder reproducibly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Lets pending promise callbacks, microtasks and zero-delay timers run. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}
