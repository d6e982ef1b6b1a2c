// The tunnel handshake's cryptography: a challenge–response that proves both ends know TUNNEL_SECRET
// without sending it. Pure functions over frames; the order of frames is handshake-flow.ts's job.
//
//   Worker → challenge{nonce_w, ts}
//   sidecar → auth{challenge: nonce_w, nonce: nonce_s, mac: HMAC(secret, auth string)}
//   Worker → welcome{linkId, mac: HMAC(secret, welcome string)}
//
// The auth string binds the protocol version, the host the sidecar dialed, both nonces and every
// hello field, so an answer is good for one connection, one hello and one Worker host only.

import { sha256Hex } from "../ids.ts";
import { fromBase64url, randomBase64url, toBase64url } from "./base64url.ts";
import {
  type AuthFrame,
  type ChallengeFrame,
  type HandshakeFailure,
  type HelloFrame,
  NONCE_BYTES,
  PROTOCOL_VERSION,
  type WelcomeFrame,
} from "./frames.ts";

/** How long an issued challenge (or a sent auth, waiting for welcome) stays answerable. */
export const HANDSHAKE_WINDOW_MS = 10_000;
/** Tolerated backwards step of the verifier's clock (a Durable Object may move between machines). */
const CLOCK_SKEW_MS = 1_000;
/** The secret is an HMAC key a fake Worker could try to brute-force from one answer: it must be long. */
export const MIN_SECRET_LENGTH = 32;
const MAC_BYTES = 32;

export type Verdict = { ok: true } | { ok: false; reason: HandshakeFailure };

/** The Worker's record of the challenge it sent on one connection. Plain data: it can be stored in a
 * hibernatable WebSocket's attachment. `verifyAnswer` sets `spent`. */
export interface IssuedChallenge {
  readonly nonce: string;
  readonly ts: number;
  spent: boolean;
}

/** The sidecar's record of the auth it sent, to check the Worker's `welcome` against. */
export interface PendingWelcome {
  readonly host: string;
  readonly challenge: string;
  readonly nonce: string;
  readonly sidecarId: string;
  readonly sentAt: number;
  spent: boolean;
}

/**
 * What a personal sidecar with credential "key" keys its MACs with: the SHA-256 (hex) of its owner's
 * CCProxy key, which the Worker holds in D1 (it never stores the key itself).
 */
export function keyCredentialSecret(key: string): Promise<string> {
  return sha256Hex(key);
}

export function isUsableSecret(secret: string | undefined): secret is string {
  return typeof secret === "string" && secret.length >= MIN_SECRET_LENGTH;
}

/**
 * The host both sides bind into the MAC: what the sidecar dialed, as the Worker sees it in the
 * upgrade request. `new URL(...).host` lowercases and drops default ports on both sides.
 */
export function tunnelHost(url: string | URL): string {
  return new URL(url).host;
}

export function createChallenge(now: number = Date.now()): {
  frame: ChallengeFrame;
  issued: IssuedChallenge;
} {
  const nonce = randomBase64url(NONCE_BYTES);
  return { frame: { type: "challenge", nonce, ts: now }, issued: { nonce, ts: now, spent: false } };
}

/** Sidecar: answers the Worker's challenge for `hello`. Throws on an unusable secret (a config error). */
export async function answerChallenge(
  secret: string,
  challenge: ChallengeFrame,
  hello: HelloFrame,
  ctx: { host: string; now?: number },
): Promise<{ frame: AuthFrame; pending: PendingWelcome }> {
  const key = await hmacKey(secret);
  const nonce = randomBase64url(NONCE_BYTES);
  const mac = await crypto.subtle.sign("HMAC", key, authMessage(ctx.host, challenge, nonce, hello));
  return {
    frame: { type: "auth", challenge: challenge.nonce, nonce, mac: toB64(mac) },
    pending: {
      host: ctx.host,
      challenge: challenge.nonce,
      nonce,
      sidecarId: hello.sidecarId,
      sentAt: ctx.now ?? Date.now(),
      spent: false,
    },
  };
}

/**
 * Worker: checks an `auth` against the challenge issued on this connection and the hello received on
 * it. One attempt per challenge: the challenge is spent before anything is awaited, so a second
 * answer (a replay, or a racing guess) is refused even while the first is being verified.
 */
export async function verifyAnswer(
  secret: string | undefined,
  issued: IssuedChallenge,
  auth: AuthFrame,
  hello: HelloFrame,
  ctx: { host: string; now?: number },
): Promise<Verdict> {
  if (issued.spent) return refuse("replayed");
  issued.spent = true;
  if (auth.challenge !== issued.nonce) return refuse("unknown_nonce");
  if (!fresh(issued.ts, ctx.now ?? Date.now())) return refuse("expired");
  const mac = fromBase64url(auth.mac);
  const sidecarNonce = fromBase64url(auth.nonce);
  if (mac?.byteLength !== MAC_BYTES || sidecarNonce?.byteLength !== NONCE_BYTES) return refuse("malformed");
  // A Worker without a usable secret accepts no one, and says so the same way as a wrong secret.
  if (!isUsableSecret(secret)) return refuse("wrong_secret");
  const challenge: ChallengeFrame = { type: "challenge", nonce: issued.nonce, ts: issued.ts };
  const key = await hmacKey(secret);
  const ok = await crypto.subtle.verify(
    "HMAC",
    key,
    mac,
    authMessage(ctx.host, challenge, auth.nonce, hello),
  );
  return ok ? { ok: true } : refuse("wrong_secret");
}

/** Worker: the `welcome` for a verified auth, proving to the sidecar that this end knows the secret. */
export async function createWelcome(
  secret: string,
  auth: AuthFrame,
  hello: HelloFrame,
  ctx: { host: string; linkId: string },
): Promise<WelcomeFrame> {
  const key = await hmacKey(secret);
  const data = welcomeMessage(ctx.host, auth.challenge, auth.nonce, hello.sidecarId, ctx.linkId);
  const mac = await crypto.subtle.sign("HMAC", key, data);
  return { type: "welcome", linkId: ctx.linkId, mac: toB64(mac) };
}

/** Sidecar: checks the Worker's `welcome`; a fake Worker (one without the secret) fails here. */
export async function verifyWelcome(
  secret: string,
  pending: PendingWelcome,
  welcome: WelcomeFrame,
  now: number = Date.now(),
): Promise<Verdict> {
  if (pending.spent) return refuse("replayed");
  pending.spent = true;
  if (!fresh(pending.sentAt, now)) return refuse("expired");
  const mac = fromBase64url(welcome.mac);
  if (mac?.byteLength !== MAC_BYTES) return refuse("malformed");
  if (!isUsableSecret(secret)) return refuse("wrong_secret");
  const key = await hmacKey(secret);
  const data = welcomeMessage(
    pending.host,
    pending.challenge,
    pending.nonce,
    pending.sidecarId,
    welcome.linkId,
  );
  return (await crypto.subtle.verify("HMAC", key, mac, data)) ? { ok: true } : refuse("wrong_secret");
}

// ---- Canonical strings ---------------------------------------------------------------------------
// JSON arrays: every field is delimited and typed, so no two different inputs give the same bytes.
// Each starts with its own label, so an auth MAC can never pass as a welcome MAC or vice versa.

function authMessage(host: string, challenge: ChallengeFrame, sidecarNonce: string, hello: HelloFrame) {
  return encoder.encode(
    JSON.stringify([
      "ccproxy-tunnel auth",
      PROTOCOL_VERSION,
      host,
      challenge.nonce,
      challenge.ts,
      sidecarNonce,
      hello.sidecarId,
      hello.name,
      hello.version,
      hello.maxConcurrent,
      hello.serveKeys ?? null,
      // Only when present, so the MAC of a TUNNEL_SECRET sidecar is what it always was.
      ...(hello.credential === undefined ? [] : [hello.credential]),
    ]),
  );
}

function welcomeMessage(
  host: string,
  challenge: string,
  sidecarNonce: string,
  sidecarId: string,
  linkId: string,
) {
  return encoder.encode(
    JSON.stringify([
      "ccproxy-tunnel welcome",
      PROTOCOL_VERSION,
      host,
      challenge,
      sidecarNonce,
      sidecarId,
      linkId,
    ]),
  );
}

// ---- Keys ----------------------------------------------------------------------------------------

const encoder = new TextEncoder();
/** CryptoKey, named so it type-checks under both the DOM and the Node typings. */
type HmacKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;
/** Imported keys by secret. Small and bounded: a process holds one secret, tests a few. */
const keys = new Map<string, Promise<HmacKey>>();
const MAX_CACHED_KEYS = 8;

function hmacKey(secret: string): Promise<HmacKey> {
  if (!isUsableSecret(secret))
    return Promise.reject(new TypeError(`TUNNEL_SECRET must be at least ${MIN_SECRET_LENGTH} characters`));
  const cached = keys.get(secret);
  if (cached) return cached;
  if (keys.size >= MAX_CACHED_KEYS) {
    const oldest = keys.keys().next();
    if (!oldest.done) keys.delete(oldest.value);
  }
  const key = crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
  keys.set(secret, key);
  // A failed import is not cached; the caller sees the rejection through `key` itself.
  key.catch(() => keys.delete(secret));
  return key;
}

function fresh(since: number, now: number): boolean {
  const age = now - since;
  return age <= HANDSHAKE_WINDOW_MS && age >= -CLOCK_SKEW_MS;
}

function refuse(reason: HandshakeFailure): Verdict {
  return { ok: false, reason };
}

function toB64(buffer: ArrayBuffer): string {
  return toBase64url(new Uint8Array(buffer));
}
