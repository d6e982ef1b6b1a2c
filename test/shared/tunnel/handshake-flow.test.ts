// The handshake order on both sides, through the real codec: hello then auth, challenge then welcome
// or reject; wrong versions, out-of-order frames, timeouts and fake Workers all end it.

import { describe, expect, it } from "vitest";
import { type DecodeResult, decodeFrame, encodeFrame } from "../../../src/shared/tunnel/codec.ts";
import type { Frame, HelloFrame } from "../../../src/shared/tunnel/frames.ts";
import { createWelcome, HANDSHAKE_WINDOW_MS } from "../../../src/shared/tunnel/handshake.ts";
import {
  ClientHandshake,
  type ClientStep,
  ServerHandshake,
  type ServerStep,
} from "../../../src/shared/tunnel/handshake-flow.ts";
import { HOST, SECRET } from "./fixtures.ts";

const HELLO: HelloFrame = {
  type: "hello",
  sidecarId: "sc-1",
  name: "box",
  version: "0.1.0",
  maxConcurrent: 3,
};

/** What the peer would decode from `frame`. */
function wire(frame: Frame): DecodeResult {
  return decodeFrame(encodeFrame(frame));
}

function server(opts: { secret?: string | undefined; now?: () => number } = {}) {
  return new ServerHandshake({
    secret: "secret" in opts ? opts.secret : SECRET,
    host: HOST,
    linkId: "link-1",
    ...(opts.now ? { now: opts.now } : {}),
  });
}

function client(secret = SECRET, host = HOST) {
  return new ClientHandshake({ secret, host, hello: HELLO });
}

function sent(step: ClientStep): Frame {
  if (step.kind !== "send") throw new Error(`expected auth to send, got ${step.kind}`);
  return step.frame;
}

function reply(step: ServerStep): Frame {
  if (step.kind === "wait") throw new Error("expected a reply");
  return step.reply;
}

describe('a personal sidecar proving its key (credential "key")', () => {
  const KEY_SECRET = "a-key-hash-standing-in-for-the-sha256-hex-of-a-key";
  const byKey: HelloFrame = {
    ...HELLO,
    credential: "key",
    serveKeys: ["key_anna"],
    sidecarId: "key_anna:box",
  };
  const keyServer = (found: { secret: string; refusal: string | null } | null, asked: string[] = []) =>
    new ServerHandshake({
      secret: undefined,
      keyCredential: async (id) => {
        asked.push(id);
        return found;
      },
      host: HOST,
      linkId: "link-1",
    });
  const run = async (s: ServerHandshake, secret = KEY_SECRET) => {
    const c = new ClientHandshake({ secret, host: HOST, hello: byKey });
    await s.receive(wire(c.hello));
    const step = await s.receive(wire(sent(await c.receive(wire(s.challenge)))));
    return { step, c };
  };

  it("is accepted on its key's hash even where no TUNNEL_SECRET is configured, and checks the welcome", async () => {
    const asked: string[] = [];
    const { step, c } = await run(keyServer({ secret: KEY_SECRET, refusal: null }, asked));
    expect(asked).toEqual(["key_anna"]);
    expect(step.kind).toBe("accept");
    expect((await c.receive(wire(reply(step)))).kind).toBe("ready");
  });

  it("is refused as wrong_secret for an unknown key or another key's hash", async () => {
    expect((await run(keyServer(null))).step).toMatchObject({ kind: "reject", reason: "wrong_secret" });
    expect(
      (await run(keyServer({ secret: KEY_SECRET, refusal: null }), `${KEY_SECRET}-other`)).step,
    ).toMatchObject({ kind: "reject", reason: "wrong_secret" });
  });

  it("learns why its key may not have a sidecar only after proving it holds the key", async () => {
    const refused = { secret: KEY_SECRET, refusal: "this CCProxy key has been revoked" };
    expect((await run(keyServer(refused))).step).toMatchObject({
      kind: "reject",
      reason: "policy",
      reply: { message: "this CCProxy key has been revoked" },
    });
    const blind = await run(keyServer(refused), `${KEY_SECRET}-guess`);
    expect(blind.step).toMatchObject({ kind: "reject", reason: "wrong_secret" });
    expect(JSON.stringify(blind.step)).not.toContain("revoked");
  });
});

describe("a full handshake", () => {
  it("connects an honest sidecar to an honest Worker", async () => {
    const s = server();
    const c = client();
    expect(await s.receive(wire(c.hello))).toEqual({ kind: "wait" });
    const auth = sent(await c.receive(wire(s.challenge)));
    const accepted = await s.receive(wire(auth));
    expect(accepted.kind).toBe("accept");
    if (accepted.kind === "accept") expect(accepted.hello).toEqual(HELLO);
    expect(s.done).toBe(true);
    expect(await c.receive(wire(reply(accepted)))).toEqual({
      kind: "ready",
      linkId: "link-1",
      features: ["summary"],
    });
  });

  it("works whichever of hello and challenge crosses the wire first", async () => {
    const s = server();
    const c = client();
    const auth = sent(await c.receive(wire(s.challenge)));
    await s.receive(wire(c.hello));
    expect((await s.receive(wire(auth))).kind).toBe("accept");
  });
});

describe("the Worker rejects", () => {
  it("a wrong secret, and the sidecar reports the Worker's reason", async () => {
    const s = server();
    const c = client(`${SECRET}-wrong`);
    await s.receive(wire(c.hello));
    const step = await s.receive(wire(sent(await c.receive(wire(s.challenge)))));
    expect(step).toMatchObject({ kind: "reject", reason: "wrong_secret" });
    expect(await c.receive(wire(reply(step)))).toEqual({
      kind: "failed",
      reason: "wrong_secret",
      byPeer: true,
      message: "authentication failed",
    });
  });

  it("everyone when it has no secret configured", async () => {
    const s = server({ secret: undefined });
    const c = client();
    await s.receive(wire(c.hello));
    expect(await s.receive(wire(sent(await c.receive(wire(s.challenge)))))).toMatchObject({
      kind: "reject",
      reason: "wrong_secret",
    });
  });

  it("a hello of another protocol version", async () => {
    const s = server();
    const step = await s.receive(decodeFrame(JSON.stringify({ ...HELLO, v: 2 })));
    expect(step).toMatchObject({
      kind: "reject",
      reason: "bad_version",
      reply: { type: "reject", reason: "bad_version" },
    });
  });

  it.each([
    ["garbage", "not json"],
    ["a binary frame", new Uint8Array([1, 1, 0, 0, 0, 0, 0, 1])],
    [
      "auth before hello",
      encodeFrame({ type: "auth", challenge: "A".repeat(43), nonce: "B".repeat(43), mac: "C".repeat(43) }),
    ],
    ["a request frame", encodeFrame({ type: "req_end", stream: 1 })],
  ])("%s as the first frame", async (_name, data) => {
    expect(await server().receive(decodeFrame(data))).toMatchObject({ kind: "reject", reason: "malformed" });
  });

  it("a second hello instead of auth", async () => {
    const s = server();
    await s.receive(wire(HELLO));
    expect(await s.receive(wire(HELLO))).toMatchObject({ kind: "reject", reason: "malformed" });
  });

  it("anything sent while the answer is being verified", async () => {
    const s = server();
    const c = client();
    await s.receive(wire(c.hello));
    const auth = sent(await c.receive(wire(s.challenge)));
    const verifying = s.receive(wire(auth));
    expect(await s.receive(wire({ type: "ping", nonce: "n", ts: 0 }))).toMatchObject({
      kind: "reject",
      reason: "malformed",
    });
    // The refusal already went out; the late verification adds nothing.
    expect(await verifying).toEqual({ kind: "wait" });
  });

  it("an answer that arrives after the window", async () => {
    let now = 1_000_000;
    const s = server({ now: () => now });
    const c = client();
    await s.receive(wire(c.hello));
    const auth = sent(await c.receive(wire(s.challenge)));
    now += HANDSHAKE_WINDOW_MS + 1;
    expect(await s.receive(wire(auth))).toMatchObject({ kind: "reject", reason: "expired" });
  });

  it("a sidecar that never answers, at the deadline", async () => {
    const s = server({ now: () => 5_000 });
    expect(s.deadline).toBe(5_000 + HANDSHAKE_WINDOW_MS);
    await s.receive(wire(HELLO));
    expect(s.expire()).toMatchObject({ kind: "reject", reason: "expired" });
    expect(s.done).toBe(true);
  });

  it("nothing at the deadline once the handshake is done", async () => {
    const s = server();
    const c = client();
    await s.receive(wire(c.hello));
    await s.receive(wire(sent(await c.receive(wire(s.challenge)))));
    expect(s.expire()).toEqual({ kind: "wait" });
  });

  it("an answer replayed from another connection", async () => {
    const first = server();
    const c = client();
    await first.receive(wire(c.hello));
    const auth = sent(await c.receive(wire(first.challenge)));
    const second = server();
    await second.receive(wire(HELLO));
    expect(await second.receive(wire(auth))).toMatchObject({ kind: "reject", reason: "unknown_nonce" });
  });
});

describe("the sidecar gives up", () => {
  it("on a welcome from a fake Worker (another secret)", async () => {
    const fake = server({ secret: `${SECRET}-fake` });
    const c = client();
    const auth = sent(await c.receive(wire(fake.challenge)));
    if (auth.type !== "auth") throw new Error("expected auth");
    // A fake Worker cannot check the answer; the best it can do is sign a welcome with its own secret.
    const forged = await createWelcome(`${SECRET}-fake`, auth, HELLO, { host: HOST, linkId: "link-1" });
    expect(await c.receive(wire(forged))).toMatchObject({
      kind: "failed",
      reason: "wrong_secret",
      byPeer: false,
    });
  });

  it("on a welcome with a garbage MAC", async () => {
    const c = client();
    await c.receive(wire(server().challenge));
    expect(await c.receive(wire({ type: "welcome", linkId: "l", mac: "A".repeat(43) }))).toMatchObject({
      kind: "failed",
      reason: "wrong_secret",
    });
  });

  it("on a Worker host other than the one it dialed", async () => {
    const s = server();
    const c = client(SECRET, "other.example");
    await s.receive(wire(c.hello));
    expect(await s.receive(wire(sent(await c.receive(wire(s.challenge)))))).toMatchObject({
      kind: "reject",
      reason: "wrong_secret",
    });
  });

  it("on a challenge of another protocol version", async () => {
    const c = client();
    const step = await c.receive(
      decodeFrame(JSON.stringify({ v: 2, type: "challenge", nonce: "A".repeat(43), ts: 1 })),
    );
    expect(step).toMatchObject({ kind: "failed", reason: "bad_version", byPeer: false });
  });

  it("on a welcome before any challenge", async () => {
    expect(await client().receive(wire({ type: "welcome", linkId: "l", mac: "A".repeat(43) }))).toMatchObject(
      {
        kind: "failed",
        reason: "malformed",
      },
    );
  });

  it("on a second challenge", async () => {
    const c = client();
    const s = server();
    await c.receive(wire(s.challenge));
    expect(await c.receive(wire(s.challenge))).toMatchObject({ kind: "failed", reason: "malformed" });
  });

  it("on a reject at any point", async () => {
    const c = client();
    expect(
      await c.receive(wire({ type: "reject", reason: "policy", message: "key already served" })),
    ).toEqual({
      kind: "failed",
      reason: "policy",
      byPeer: true,
      message: "key already served",
    });
  });

  it("refuses to start without a usable secret", () => {
    expect(() => client("")).toThrow(TypeError);
    expect(() => client("too-short")).toThrow(TypeError);
  });
});
