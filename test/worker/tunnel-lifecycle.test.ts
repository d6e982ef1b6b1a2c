// A sidecar link over its life: no secret configured refuses everyone, a newer connection of the same
// sidecar replaces the old one, drain stops new requests, a protocol violation or 70 s of silence
// closes the link, and the hub rebuilds its links from the sockets after hibernation.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CLOSE_CODES, KEEPALIVE_PONG, PEER_TIMEOUT_MS } from "../../src/shared/tunnel/index.ts";
import { TunnelHub } from "../../src/worker/modes/claude-code/hub.ts";
import { call, newKey } from "./helpers.ts";
import { bytes, connect, dial, SECRET, settleFor, sidecarCount, type TestSidecar } from "./tunnel-support.ts";

const open: TestSidecar[] = [];
const hubStub = () => env.HUB.get(env.HUB.idFromName("hub"));

afterEach(async () => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  for (const s of open.splice(0)) s.close();
  await settleFor(20);
});

async function sidecar(...args: Parameters<typeof connect>): Promise<TestSidecar> {
  const s = await connect(...args);
  open.push(s);
  return s;
}

function ask(key: string): Promise<Response> {
  return call("/v1/messages", {
    method: "POST",
    headers: { "x-api-key": key, "content-type": "application/json" },
    body: JSON.stringify({ model: "claude-sonnet-4-5", messages: [{ role: "user", content: "hi" }] }),
  });
}

/** Runs `fn` while the hub sees `vars` in its env (as if the operator had configured them). */
async function withHubEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const swap = (next: (e: Env) => Env) =>
    runInDurableObject(hubStub(), (instance) => {
      const i = instance as unknown as { env: Env };
      const before = i.env;
      i.env = next(before);
      return before;
    });
  const original = await swap((e) => ({ ...e, ...vars }) as Env);
  try {
    return await fn();
  } finally {
    await swap(() => original);
  }
}

describe("secret", () => {
  it("refuses every sidecar, and says why in the log, when no TUNNEL_SECRET is configured", async () => {
    const logs = vi.spyOn(console, "log");
    const r = await withHubEnv({ TUNNEL_SECRET: undefined }, () => dial());
    expect(r).toMatchObject({
      ok: false,
      reason: "wrong_secret",
      byPeer: true,
      closeCode: CLOSE_CODES.rejected,
    });
    const lines = logs.mock.calls.map((c) => String(c[0]));
    expect(lines.some((l) => /TUNNEL_SECRET is not set/.test(l))).toBe(true);
    expect(lines.some((l) => /refused sidecar .*no usable TUNNEL_SECRET/.test(l))).toBe(true);
    expect(await sidecarCount()).toBe(0);
  });

  it("refuses every sidecar when the configured secret is too short to be safe", async () => {
    const short = SECRET.slice(0, 20);
    const r = await withHubEnv({ TUNNEL_SECRET: short }, () => dial({ secret: SECRET }));
    expect(r).toMatchObject({ ok: false, reason: "wrong_secret" });
  });
});

describe("link lifecycle", () => {
  it("replaces an older connection of the same sidecar (close 4005)", async () => {
    const first = await sidecar({ hello: { sidecarId: "sc_same" } });
    const second = await sidecar({ hello: { sidecarId: "sc_same" } });
    expect(await first.closed).toBe(CLOSE_CODES.replaced);
    expect(await sidecarCount()).toBe(1);
    const k = await newKey();
    const pending = ask(k.key);
    const req = await second.nextRequest();
    req.respond(200, [["content-type", "text/plain"]]);
    await req.end();
    expect((await pending).status).toBe(200);
  });

  it("sends no new request to a draining sidecar", async () => {
    const s = await sidecar();
    s.link.drain("restarting");
    await settleFor(20);
    const k = await newKey();
    const res = await ask(k.key);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/restarting/);
    expect(s.requests).toHaveLength(0);
  });

  it("closes a link that breaks the protocol (4002) and fails its requests with 502", async () => {
    const s = await sidecar();
    const k = await newKey();
    const pending = ask(k.key);
    await s.nextRequest();
    s.ws.send("not a frame");
    expect(await s.closed).toBe(CLOSE_CODES.protocol);
    expect((await pending).status).toBe(502);
    expect(await sidecarCount()).toBe(0);
  });

  it("answers keep-alive pings (without the hub's code running) and closes a link silent for 70 s", async () => {
    const s = await sidecar();
    const pongs: string[] = [];
    s.ws.addEventListener("message", (ev) => {
      pongs.push(String(ev.data));
    });
    s.ws.send('{"v":1,"type":"ping","nonce":"keepalive","ts":0}');
    await settleFor(30);
    expect(pongs).toContain(KEEPALIVE_PONG);
    expect(await runDurableObjectAlarm(hubStub())).toBe(true);
    expect(await sidecarCount()).toBe(1);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + PEER_TIMEOUT_MS + 5_000);
    expect(await runDurableObjectAlarm(hubStub())).toBe(true);
    vi.useRealTimers();
    expect(await s.closed).toBe(CLOSE_CODES.idle);
    expect(await sidecarCount()).toBe(0);
  });

  it("rebuilds its links from the sockets after hibernation (hello, capacity, next stream id)", async () => {
    const s = await sidecar({ hello: { name: "survivor", maxConcurrent: 3 } });
    const k = await newKey();
    const pending = ask(k.key);
    const req = await s.nextRequest();
    req.respond(200, [["content-type", "text/plain"]]);
    await req.write(bytes("x"));
    await req.end();
    await (await pending).text();
    const restored = await runInDurableObject(hubStub(), (instance, state) => {
      // What a woken hub does: construct from the same state; only the sockets remain.
      const fresh = new TunnelHub(state, (instance as unknown as { env: Env }).env);
      const attachments = state
        .getWebSockets()
        .map((ws) => ws.deserializeAttachment() as Record<string, unknown>);
      return { stats: fresh.stats(), attachments };
    });
    expect(restored.stats.sidecars).toBe(1);
    expect(restored.attachments).toEqual([
      expect.objectContaining({
        phase: "ready",
        lastStream: req.stream,
        hello: expect.objectContaining({ name: "survivor", maxConcurrent: 3 }),
      }),
    ]);
  });
});
