// The handshake as two small state machines, one per side, fed with decoded messages. They enforce
// the order (sidecar: hello then auth; Worker: challenge then welcome or reject) and the deadline,
// and say what to send next; the Durable Object and the sidecar only move bytes and close sockets.

import type { DecodeResult } from "./codec.ts";
import {
  type AuthFrame,
  type ChallengeFrame,
  FEATURES,
  type HandshakeFailure,
  type HelloFrame,
  type RejectFrame,
  type RejectReason,
  type WelcomeFrame,
} from "./frames.ts";
import {
  answerChallenge,
  createChallenge,
  createWelcome,
  HANDSHAKE_WINDOW_MS,
  type IssuedChallenge,
  isUsableSecret,
  type PendingWelcome,
  verifyAnswer,
  verifyWelcome,
} from "./handshake.ts";

export type ServerStep =
  /** Keep reading. */
  | { kind: "wait" }
  /** Send `reply` (welcome) and start serving `hello`'s sidecar. */
  | { kind: "accept"; hello: HelloFrame; reply: WelcomeFrame }
  /** Send `reply`, then close the socket with CLOSE_CODES.rejected. */
  | { kind: "reject"; reason: RejectReason; reply: RejectFrame };

const REJECT_MESSAGES = {
  wrong_secret: "authentication failed",
  replayed: "challenge already answered",
  expired: "handshake took too long",
  unknown_nonce: "answer is for another challenge",
  bad_version: "unsupported tunnel protocol version",
  malformed: "malformed handshake",
  policy: "refused",
} as const satisfies Record<RejectReason, string>;

export function rejectFrame(reason: RejectReason, message: string = REJECT_MESSAGES[reason]): RejectFrame {
  return { type: "reject", reason, message };
}

/**
 * What the Worker knows of the key a sidecar with credential "key" names: the secret its MACs use
 * (the key's SHA-256 hex), and why the key may not have a sidecar (revoked, expired, no Claude Code
 * mode), checked only after the MAC proved the sidecar holds the key. Null: no such key.
 */
export interface KeyCredential {
  secret: string;
  refusal: string | null;
}

/** The Worker's side. Send `challenge` as soon as the socket is accepted. */
export class ServerHandshake {
  readonly challenge: ChallengeFrame;
  /** Close the socket if the handshake is not done by then (a Durable Object alarm or timer). */
  readonly deadline: number;
  readonly #issued: IssuedChallenge;
  readonly #secret: string | undefined;
  readonly #keyCredential: ((keyId: string) => Promise<KeyCredential | null>) | undefined;
  readonly #host: string;
  readonly #linkId: string;
  readonly #now: () => number;
  #hello: HelloFrame | undefined;
  #state: "await_hello" | "await_auth" | "verifying" | "done" = "await_hello";

  constructor(opts: {
    /** TUNNEL_SECRET. */
    secret: string | undefined;
    /** Looks up the key a sidecar with credential "key" names; absent: such sidecars are refused. */
    keyCredential?: (keyId: string) => Promise<KeyCredential | null>;
    host: string;
    linkId: string;
    now?: () => number;
  }) {
    this.#secret = opts.secret;
    this.#keyCredential = opts.keyCredential;
    this.#host = opts.host;
    this.#linkId = opts.linkId;
    this.#now = opts.now ?? Date.now;
    const { frame, issued } = createChallenge(this.#now());
    this.challenge = frame;
    this.#issued = issued;
    this.deadline = issued.ts + HANDSHAKE_WINDOW_MS;
  }

  get done(): boolean {
    return this.#state === "done";
  }

  async receive(message: DecodeResult): Promise<ServerStep> {
    if (this.#state === "done" || this.#state === "verifying")
      return this.#reject("malformed", "frame sent before welcome");
    if (!message.ok) return this.#reject(message.error.code === "bad_version" ? "bad_version" : "malformed");
    const frame = message.frame;
    if (this.#state === "await_hello") {
      if (frame.type !== "hello") return this.#reject("malformed", "first frame must be hello");
      this.#hello = frame;
      this.#state = "await_auth";
      return { kind: "wait" };
    }
    if (frame.type !== "auth" || this.#hello === undefined)
      return this.#reject("malformed", "second frame must be auth");
    return this.#verify(frame, this.#hello);
  }

  /** Call at `deadline`: refuses a handshake that has not finished. */
  expire(): ServerStep {
    return this.#state === "done" ? { kind: "wait" } : this.#reject("expired");
  }

  async #verify(auth: AuthFrame, hello: HelloFrame): Promise<ServerStep> {
    this.#state = "verifying";
    let secret = this.#secret;
    let refusal: string | null = null;
    if (hello.credential === "key") {
      const keyId = hello.serveKeys?.[0];
      const found =
        keyId === undefined || this.#keyCredential === undefined ? null : await this.#keyCredential(keyId);
      secret = found?.secret;
      refusal = found?.refusal ?? null;
    }
    const verdict = await verifyAnswer(secret, this.#issued, auth, hello, {
      host: this.#host,
      now: this.#now(),
    });
    // expire() or an out-of-order frame may have refused the connection while we awaited the MAC;
    // that refusal was already returned to the caller, so there is nothing more to send.
    if (this.#state !== "verifying") return { kind: "wait" };
    if (!verdict.ok) return this.#reject(verdict.reason);
    if (!isUsableSecret(secret)) return this.#reject("wrong_secret");
    // Only a sidecar that proved it holds the key learns why the key may not have one.
    if (refusal !== null) return this.#reject("policy", refusal);
    const reply = await createWelcome(secret, auth, hello, { host: this.#host, linkId: this.#linkId });
    if (this.#state !== "verifying") return { kind: "wait" };
    this.#state = "done";
    return { kind: "accept", hello, reply: { ...reply, features: [...FEATURES] } };
  }

  #reject(reason: RejectReason, message?: string): ServerStep {
    this.#state = "done";
    return { kind: "reject", reason, reply: rejectFrame(reason, message) };
  }
}

export type ClientStep =
  | { kind: "wait" }
  /** Send `frame` (auth). */
  | { kind: "send"; frame: AuthFrame }
  /** Authenticated both ways: start serving. `features`: what the Worker supports (its welcome). */
  | { kind: "ready"; linkId: string; features: string[] }
  /** Close the socket. `byPeer`: the Worker sent `reject` (its reason), else this side refused. */
  | { kind: "failed"; reason: RejectReason; byPeer: boolean; message: string };

/** The sidecar's side. Send `hello` as soon as the socket opens. */
export class ClientHandshake {
  readonly hello: HelloFrame;
  readonly #secret: string;
  readonly #host: string;
  readonly #now: () => number;
  #pending: PendingWelcome | undefined;
  #state: "await_challenge" | "answering" | "await_welcome" | "verifying" | "done" = "await_challenge";

  constructor(opts: { secret: string; host: string; hello: HelloFrame; now?: () => number }) {
    if (!isUsableSecret(opts.secret)) throw new TypeError("TUNNEL_SECRET is missing or too short");
    this.#secret = opts.secret;
    this.#host = opts.host;
    this.hello = opts.hello;
    this.#now = opts.now ?? Date.now;
  }

  async receive(message: DecodeResult): Promise<ClientStep> {
    if (this.#state === "done") return this.#fail("malformed", "frame after the handshake ended");
    if (!message.ok)
      return this.#fail(
        message.error.code === "bad_version" ? "bad_version" : "malformed",
        message.error.message,
      );
    const frame = message.frame;
    if (frame.type === "reject") {
      this.#state = "done";
      return { kind: "failed", reason: frame.reason, byPeer: true, message: frame.message };
    }
    switch (this.#state) {
      case "await_challenge":
        if (frame.type !== "challenge") return this.#fail("malformed", "first frame must be challenge");
        return this.#answer(frame);
      case "await_welcome":
        if (frame.type !== "welcome") return this.#fail("malformed", "expected welcome");
        return this.#checkWelcome(frame);
      case "answering":
      case "verifying":
        return this.#fail("malformed", `unexpected ${frame.type} during the handshake`);
    }
  }

  async #answer(challenge: ChallengeFrame): Promise<ClientStep> {
    this.#state = "answering";
    const { frame, pending } = await answerChallenge(this.#secret, challenge, this.hello, {
      host: this.#host,
      now: this.#now(),
    });
    if (this.#state !== "answering") return { kind: "wait" };
    this.#pending = pending;
    this.#state = "await_welcome";
    return { kind: "send", frame };
  }

  async #checkWelcome(welcome: WelcomeFrame): Promise<ClientStep> {
    const pending = this.#pending;
    if (pending === undefined) return this.#fail("malformed", "welcome before auth");
    this.#state = "verifying";
    const verdict = await verifyWelcome(this.#secret, pending, welcome, this.#now());
    if (this.#state !== "verifying") return { kind: "wait" };
    if (!verdict.ok) return this.#fail(verdict.reason, "the Worker could not prove it knows the secret");
    this.#state = "done";
    return { kind: "ready", linkId: welcome.linkId, features: welcome.features ?? [] };
  }

  #fail(reason: HandshakeFailure, message: string): ClientStep {
    this.#state = "done";
    return { kind: "failed", reason, byPeer: false, message };
  }
}
