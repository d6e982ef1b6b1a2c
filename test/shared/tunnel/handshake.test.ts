// The handshake's cryptography: an answer proves the secret, is good once, on one connection, for one
// hello and one Worker host, within the window; the Worker's welcome proves the secret back.

import { afterEach, describe, expect, it, vi } from "vitest";
import { toBase64url } from "../../../src/shared/tunnel/base64url.ts";
import type { AuthFrame, HelloFrame, WelcomeFrame } from "../../../src/shared/tunnel/frames.ts";
import {
  answerChallenge,
  createChallenge,
  createWelcome,
  HANDSHAKE_WINDOW_MS,
  isUsableSecret,
  MIN_SECRET_LENGTH,
  tunnelHost,
  verifyAnswer,
  verifyWelcome,
} from "../../../src/shared/tunnel/handshake.ts";
import { HOST, SECRET } from "./fixtures.ts";

const T0 = 1_700_000_000_000;
const HELLO: HelloFrame = {
  type: "hello",
  sidecarId: "sc-anna",
  name: "anna's laptop",
  version: "0.1.0",
  maxConcurrent: 2,
  serveKeys: ["key_anna", "key_anna_ci"],
};

/** One full exchange up to (not including) the Worker's verification. */
async function exchange(hello: HelloFrame = HELLO, secret = SECRET) {
  const { frame: challenge, issued } = createChallenge(T0);
  const { frame: auth, pending } = await answerChallenge(secret, challenge, hello, {
    host: HOST,
    now: T0 + 5,
  });
  return { challenge, issued, auth, pending };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("success", () => {
  it("authenticates both ways", async () => {
    const { issued, auth, pending } = await exchange();
    expect(await verifyAnswer(SECRET, issued, auth, HELLO, { host: HOST, now: T0 + 50 })).toEqual({
      ok: true,
    });
    const welcome = await createWelcome(SECRET, auth, HELLO, { host: HOST, linkId: "link-7" });
    expect(welcome.linkId).toBe("link-7");
    expect(await verifyWelcome(SECRET, pending, welcome, T0 + 100)).toEqual({ ok: true });
  });

  it("issues fresh 256-bit base64url nonces", () => {
    const nonces = new Set(Array.from({ length: 200 }, () => createChallenge(T0).frame.nonce));
    expect(nonces.size).toBe(200);
    for (const nonce of nonces) expect(nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("uses a fresh sidecar nonce for every answer", async () => {
    const { challenge } = await exchange();
    const a = await answerChallenge(SECRET, challenge, HELLO, { host: HOST });
    const b = await answerChallenge(SECRET, challenge, HELLO, { host: HOST });
    expect(a.frame.nonce).not.toBe(b.frame.nonce);
    expect(a.frame.mac).not.toBe(b.frame.mac);
  });

  it("authenticates a shared sidecar (no serveKeys)", async () => {
    const shared: HelloFrame = {
      type: "hello",
      sidecarId: "sc",
      name: "team",
      version: "1",
      maxConcurrent: 8,
    };
    const { issued, auth } = await exchange(shared);
    expect(await verifyAnswer(SECRET, issued, auth, shared, { host: HOST, now: T0 })).toEqual({ ok: true });
  });

  it("never puts the secret in a frame", async () => {
    const { challenge, auth } = await exchange();
    const welcome = await createWelcome(SECRET, auth, HELLO, { host: HOST, linkId: "l" });
    const all = JSON.stringify([challenge, auth, welcome]);
    expect(all).not.toContain(SECRET);
    expect(all).not.toContain(toBase64url(new TextEncoder().encode(SECRET)));
  });

  it("imports the HMAC key once per secret", async () => {
    const secret = `${SECRET}-cache-test`;
    const importKey = vi.spyOn(crypto.subtle, "importKey");
    for (let i = 0; i < 5; i++) {
      const { issued, auth } = await exchange(HELLO, secret);
      expect(await verifyAnswer(secret, issued, auth, HELLO, { host: HOST, now: T0 })).toEqual({ ok: true });
    }
    expect(importKey).toHaveBeenCalledTimes(1);
  });
});

describe("the Worker refuses", () => {
  it("a wrong secret", async () => {
    const { issued, auth } = await exchange(HELLO, `${SECRET}-other`);
    expect(await verifyAnswer(SECRET, issued, auth, HELLO, { host: HOST, now: T0 })).toEqual({
      ok: false,
      reason: "wrong_secret",
    });
  });

  it.each([
    ["undefined", undefined],
    ["empty", ""],
    ["too short", "x".repeat(MIN_SECRET_LENGTH - 1)],
  ])("everyone when its own secret is %s", async (_name, secret) => {
    const { issued, auth } = await exchange();
    expect(await verifyAnswer(secret, issued, auth, HELLO, { host: HOST, now: T0 })).toEqual({
      ok: false,
      reason: "wrong_secret",
    });
  });

  it.each([
    ["all zero", toBase64url(new Uint8Array(32))],
    ["another valid-looking MAC", toBase64url(new Uint8Array(32).fill(7))],
  ])("a guessed MAC (%s)", async (_name, mac) => {
    const { issued, auth } = await exchange();
    expect(await verifyAnswer(SECRET, issued, { ...auth, mac }, HELLO, { host: HOST, now: T0 })).toEqual({
      ok: false,
      reason: "wrong_secret",
    });
  });

  it.each([
    ["empty", ""],
    ["short", "abc"],
    ["33 bytes", toBase64url(new Uint8Array(33))],
    ["not base64url", "!".repeat(43)],
    ["non-canonical trailing bits", `${"A".repeat(42)}B`],
  ])("a malformed MAC (%s)", async (_name, mac) => {
    const { issued, auth } = await exchange();
    expect(await verifyAnswer(SECRET, issued, { ...auth, mac }, HELLO, { host: HOST, now: T0 })).toEqual({
      ok: false,
      reason: "malformed",
    });
  });

  it("a malformed sidecar nonce", async () => {
    const { issued, auth } = await exchange();
    expect(
      await verifyAnswer(SECRET, issued, { ...auth, nonce: "short" }, HELLO, { host: HOST, now: T0 }),
    ).toEqual({
      ok: false,
      reason: "malformed",
    });
  });

  it("the same answer twice on one connection (replay)", async () => {
    const { issued, auth } = await exchange();
    expect(await verifyAnswer(SECRET, issued, auth, HELLO, { host: HOST, now: T0 })).toEqual({ ok: true });
    expect(await verifyAnswer(SECRET, issued, auth, HELLO, { host: HOST, now: T0 })).toEqual({
      ok: false,
      reason: "replayed",
    });
  });

  it("a second answer after a failed one (one attempt per challenge)", async () => {
    const { issued, auth } = await exchange();
    await verifyAnswer(SECRET, issued, { ...auth, mac: toBase64url(new Uint8Array(32)) }, HELLO, {
      host: HOST,
      now: T0,
    });
    expect(await verifyAnswer(SECRET, issued, auth, HELLO, { host: HOST, now: T0 })).toEqual({
      ok: false,
      reason: "replayed",
    });
  });

  it("two answers racing on one connection: only one is checked", async () => {
    const { issued, auth } = await exchange();
    const results = await Promise.all([
      verifyAnswer(SECRET, issued, auth, HELLO, { host: HOST, now: T0 }),
      verifyAnswer(SECRET, issued, auth, HELLO, { host: HOST, now: T0 }),
    ]);
    expect(results).toEqual([{ ok: true }, { ok: false, reason: "replayed" }]);
  });

  it("an answer recorded on another connection", async () => {
    const first = await exchange();
    expect(await verifyAnswer(SECRET, first.issued, first.auth, HELLO, { host: HOST, now: T0 })).toEqual({
      ok: true,
    });
    const second = createChallenge(T0 + 1000);
    expect(
      await verifyAnswer(SECRET, second.issued, first.auth, HELLO, { host: HOST, now: T0 + 1000 }),
    ).toEqual({
      ok: false,
      reason: "unknown_nonce",
    });
  });

  it("an answer that names another challenge nonce but reuses this one's MAC", async () => {
    const { issued, auth } = await exchange();
    const other = createChallenge(T0).frame.nonce;
    expect(
      await verifyAnswer(SECRET, issued, { ...auth, challenge: other }, HELLO, { host: HOST, now: T0 }),
    ).toEqual({
      ok: false,
      reason: "unknown_nonce",
    });
  });

  it("an answer after the window, and accepts one right at it", async () => {
    const late = await exchange();
    expect(
      await verifyAnswer(SECRET, late.issued, late.auth, HELLO, {
        host: HOST,
        now: T0 + HANDSHAKE_WINDOW_MS + 1,
      }),
    ).toEqual({ ok: false, reason: "expired" });
    const onTime = await exchange();
    expect(
      await verifyAnswer(SECRET, onTime.issued, onTime.auth, HELLO, {
        host: HOST,
        now: T0 + HANDSHAKE_WINDOW_MS,
      }),
    ).toEqual({ ok: true });
  });

  it("an answer when its own clock went far backwards", async () => {
    const { issued, auth } = await exchange();
    expect(await verifyAnswer(SECRET, issued, auth, HELLO, { host: HOST, now: T0 - 60_000 })).toEqual({
      ok: false,
      reason: "expired",
    });
  });

  const tampered: [string, HelloFrame][] = [
    ["serveKeys changed", { ...HELLO, serveKeys: ["key_boss"] }],
    ["serveKeys extended", { ...HELLO, serveKeys: [...(HELLO.serveKeys ?? []), "key_boss"] }],
    ["serveKeys reordered", { ...HELLO, serveKeys: [...(HELLO.serveKeys ?? [])].reverse() }],
    ["serveKeys removed (personal → shared)", (({ serveKeys: _s, ...rest }) => rest)(HELLO)],
    ["sidecarId changed", { ...HELLO, sidecarId: "sc-mallory" }],
    ["name changed", { ...HELLO, name: "mallory" }],
    ["version changed", { ...HELLO, version: "9.9.9" }],
    ["maxConcurrent changed", { ...HELLO, maxConcurrent: 1000 }],
    ["credential added", { ...HELLO, credential: "key" }],
  ];
  it("credential removed after signing (a key-credential answer never passes as a TUNNEL_SECRET one)", async () => {
    const byKey: HelloFrame = { ...HELLO, credential: "key" };
    const { issued, auth } = await exchange(byKey);
    expect(await verifyAnswer(SECRET, issued, auth, HELLO, { host: HOST, now: T0 })).toEqual({
      ok: false,
      reason: "wrong_secret",
    });
  });

  it.each(tampered)("hello fields altered after signing (%s)", async (_name, altered) => {
    const { issued, auth } = await exchange(HELLO);
    expect(await verifyAnswer(SECRET, issued, auth, altered, { host: HOST, now: T0 })).toEqual({
      ok: false,
      reason: "wrong_secret",
    });
  });

  it("an answer relayed from a fake Worker the sidecar was lured to (host binding)", async () => {
    // The relay asks the real Worker for a challenge and hands it to a sidecar that dialed evil.example.
    const { frame: challenge, issued } = createChallenge(T0);
    const { frame: auth } = await answerChallenge(SECRET, challenge, HELLO, { host: "evil.example" });
    expect(await verifyAnswer(SECRET, issued, auth, HELLO, { host: HOST, now: T0 })).toEqual({
      ok: false,
      reason: "wrong_secret",
    });
  });

  it("an answer whose sidecar nonce was swapped", async () => {
    const { issued, auth } = await exchange();
    const swapped: AuthFrame = { ...auth, nonce: createChallenge(T0).frame.nonce };
    expect(await verifyAnswer(SECRET, issued, swapped, HELLO, { host: HOST, now: T0 })).toEqual({
      ok: false,
      reason: "wrong_secret",
    });
  });
});

describe("the sidecar refuses a welcome", () => {
  async function verified() {
    const x = await exchange();
    expect(await verifyAnswer(SECRET, x.issued, x.auth, HELLO, { host: HOST, now: T0 })).toEqual({
      ok: true,
    });
    return x;
  }

  it("from a Worker with another secret (a fake Worker)", async () => {
    const { auth, pending } = await verified();
    const welcome = await createWelcome(`${SECRET}-fake`, auth, HELLO, { host: HOST, linkId: "l" });
    expect(await verifyWelcome(SECRET, pending, welcome, T0)).toEqual({ ok: false, reason: "wrong_secret" });
  });

  it("with a tampered linkId", async () => {
    const { auth, pending } = await verified();
    const welcome = await createWelcome(SECRET, auth, HELLO, { host: HOST, linkId: "l1" });
    expect(await verifyWelcome(SECRET, pending, { ...welcome, linkId: "l2" }, T0)).toEqual({
      ok: false,
      reason: "wrong_secret",
    });
  });

  it("that is the sidecar's own auth MAC reflected back", async () => {
    const { auth, pending } = await verified();
    const reflected: WelcomeFrame = { type: "welcome", linkId: "l", mac: auth.mac };
    expect(await verifyWelcome(SECRET, pending, reflected, T0)).toEqual({
      ok: false,
      reason: "wrong_secret",
    });
  });

  it("recorded from an earlier connection", async () => {
    const first = await verified();
    const oldWelcome = await createWelcome(SECRET, first.auth, HELLO, { host: HOST, linkId: "l" });
    const second = await verified();
    expect(await verifyWelcome(SECRET, second.pending, oldWelcome, T0)).toEqual({
      ok: false,
      reason: "wrong_secret",
    });
  });

  it("presented twice", async () => {
    const { auth, pending } = await verified();
    const welcome = await createWelcome(SECRET, auth, HELLO, { host: HOST, linkId: "l" });
    expect(await verifyWelcome(SECRET, pending, welcome, T0)).toEqual({ ok: true });
    expect(await verifyWelcome(SECRET, pending, welcome, T0)).toEqual({ ok: false, reason: "replayed" });
  });

  it("that comes too late", async () => {
    const { auth, pending } = await verified();
    const welcome = await createWelcome(SECRET, auth, HELLO, { host: HOST, linkId: "l" });
    expect(await verifyWelcome(SECRET, pending, welcome, pending.sentAt + HANDSHAKE_WINDOW_MS + 1)).toEqual({
      ok: false,
      reason: "expired",
    });
  });

  it("with a malformed MAC", async () => {
    const { pending } = await verified();
    expect(await verifyWelcome(SECRET, pending, { type: "welcome", linkId: "l", mac: "" }, T0)).toEqual({
      ok: false,
      reason: "malformed",
    });
  });

  it("for another host", async () => {
    const { auth, pending } = await verified();
    const welcome = await createWelcome(SECRET, auth, HELLO, { host: "evil.example", linkId: "l" });
    expect(await verifyWelcome(SECRET, pending, welcome, T0)).toEqual({ ok: false, reason: "wrong_secret" });
  });
});

describe("secrets and hosts", () => {
  it("refuses to answer with an unusable secret, without echoing it", async () => {
    const { challenge } = await exchange();
    for (const secret of ["", "short-secret"]) {
      const answer = answerChallenge(secret, challenge, HELLO, { host: HOST });
      await expect(answer).rejects.toThrow(TypeError);
      await answer.catch((err: unknown) => {
        expect(String(err)).not.toContain("short-secret");
      });
    }
    expect(isUsableSecret(undefined)).toBe(false);
    expect(isUsableSecret(SECRET)).toBe(true);
  });

  it.each([
    ["wss://CCProxy.Example.com/tunnel", "ccproxy.example.com"],
    ["wss://ccproxy.example.com:443/tunnel", "ccproxy.example.com"],
    ["https://ccproxy.example.com/tunnel?x=1", "ccproxy.example.com"],
    ["ws://localhost:8787/tunnel", "localhost:8787"],
    ["http://localhost:8787/tunnel", "localhost:8787"],
    ["ws://localhost:80/tunnel", "localhost"],
  ])("normalizes %s to %s on both sides", (url, host) => {
    expect(tunnelHost(url)).toBe(host);
  });
});
