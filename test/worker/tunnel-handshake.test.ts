// Sidecars dialing /tunnel: only a WebSocket that proves it knows TUNNEL_SECRET is served, every
// refusal is logged (without the secret), and /health counts the sidecars that are connected.
import { afterEach, describe, expect, it, vi } from "vitest";
import { CLOSE_CODES, decodeFrame, encodeFrame } from "../../src/shared/tunnel/index.ts";
import { call } from "./helpers.ts";
import { connect, dial, helloFrame, openSocket, SECRET, settleFor, sidecarCount } from "./tunnel-support.ts";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("/tunnel", () => {
  it("refuses a request that is not a WebSocket upgrade, in Anthropic format", async () => {
    const res = await call("/tunnel");
    expect(res.status).toBe(400);
    const body = (await res.json()) as { type: string; error: { type: string; message: string } };
    expect(body).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
    expect(body.error.message).toMatch(/WebSocket/);
    expect((await call("/tunnel", { method: "POST" })).status).toBe(405);
  });

  it("accepts a sidecar that knows the secret, and /health counts it until it leaves", async () => {
    const before = await sidecarCount();
    const sidecar = await connect();
    expect(await sidecarCount()).toBe(before + 1);
    sidecar.close();
    await settleFor(50);
    expect(await sidecarCount()).toBe(before);
  });

  it("refuses a wrong secret with reject + close 4001, logs it, and does not count the sidecar", async () => {
    const logs = vi.spyOn(console, "log");
    const before = await sidecarCount();
    const r = await dial({ secret: "a-wrong-secret-that-is-long-enough-to-use" });
    expect(r).toMatchObject({
      ok: false,
      reason: "wrong_secret",
      byPeer: true,
      closeCode: CLOSE_CODES.rejected,
    });
    expect(await sidecarCount()).toBe(before);
    const lines = logs.mock.calls.map((c) => String(c[0]));
    expect(lines.some((l) => /refused sidecar .* wrong_secret/.test(l))).toBe(true);
    expect(lines.join("\n")).not.toContain(SECRET);
  });

  it("refuses a replayed answer: an auth recorded on one connection, sent on another, and logs it", async () => {
    const good = await connect();
    const logs = vi.spyOn(console, "log");
    const ws = await openSocket();
    const got: string[] = [];
    const closed = new Promise<number>((resolve) => ws.addEventListener("close", (ev) => resolve(ev.code)));
    ws.addEventListener("message", (ev) => got.push(String(ev.data)));
    ws.send(encodeFrame(good.hello));
    await settleFor(20);
    ws.send(encodeFrame(good.auth));
    expect(await closed).toBe(CLOSE_CODES.rejected);
    const frames = got.map((m) => decodeFrame(m));
    expect(frames.map((f) => (f.ok ? f.frame.type : "?"))).toEqual(["challenge", "reject"]);
    const reject = frames[1];
    expect(reject?.ok && reject.frame.type === "reject" && reject.frame.reason).toBe("unknown_nonce");
    const lines = logs.mock.calls.map((c) => String(c[0]));
    const name = `"${good.hello.name}" (${good.hello.sidecarId})`;
    expect(lines.filter((l) => l.includes(`refused sidecar ${name}`))).toEqual([
      expect.stringMatching(/: unknown_nonce$/),
    ]);
    expect(lines.join("\n")).not.toContain(SECRET);
    good.close();
  });

  it("refuses a hello that is not followed by a valid auth", async () => {
    const ws = await openSocket();
    const closed = new Promise<number>((resolve) => ws.addEventListener("close", (ev) => resolve(ev.code)));
    ws.send(encodeFrame(helloFrame()));
    ws.send(encodeFrame(helloFrame()));
    expect(await closed).toBe(CLOSE_CODES.rejected);
  });
});
