// The tunnel end to end: sidecar processes dialing `wrangler dev` over a real WebSocket, the
// TunnelHub Durable Object relaying requests to them. The agent is replaced by a scripted stand-in
// (test/support/sidecar-scripted.ts) so these tests are about the transport: refusal of a wrong
// secret, streaming as written, a sidecar killed mid-stream, a client that aborts, a personal
// sidecar that is offline, and a graceful SIGTERM. Each test uses its own personal sidecar, so
// whatever else is connected never takes its requests.
import { afterEach, describe, expect, inject, it } from "vitest";
import { type SidecarProcess, startSidecar, waitForSidecars } from "../support/sidecar-process.ts";
import { newKey, url } from "./helpers.ts";

const started: SidecarProcess[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop("SIGKILL")));
});

function scripted(env: Record<string, string>, secret = inject("tunnelSecret")): SidecarProcess {
  const s = startSidecar({ ccproxyUrl: url(), secret, kind: "scripted", env });
  started.push(s);
  return s;
}

/** A personal scripted sidecar for a fresh key, connected. */
async function personal(): Promise<{ key: string; keyId: string; sidecar: SidecarProcess }> {
  const k = await newKey();
  const sidecar = scripted({ CC_SERVE_KEYS: k.id, CC_SIDECAR_NAME: `e2e-${k.id}` });
  await sidecar.waitForLine(/connected to ws:\/\/127\.0\.0\.1:\d+\/tunnel/);
  return { key: k.key, keyId: k.id, sidecar };
}

function ask(
  key: string,
  prompt: string,
  init: { path?: string; signal?: AbortSignal } = {},
): Promise<Response> {
  return fetch(`${url()}${init.path ?? "/v1/messages"}`, {
    method: "POST",
    headers: { "x-api-key": key, "content-type": "application/json", "anthropic-version": "2023-06-01" },
    body: JSON.stringify({
      model: "claude-sonnet-4-5",
      max_tokens: 64,
      stream: true,
      messages: [{ role: "user", content: prompt }],
    }),
    ...(init.signal === undefined ? {} : { signal: init.signal }),
  });
}

const dec = new TextDecoder();

describe("Claude Code mode tunnel, end to end", () => {
  it("refuses a sidecar with the wrong secret: it logs the refusal and never counts in /health", async () => {
    const before = await waitForSidecars(url(), (n) => n >= 0);
    // The real sidecar (`npm run sidecar`): the refusal happens before any run.
    const s = startSidecar({
      ccproxyUrl: url(),
      secret: "a-wrong-tunnel-secret-that-is-long-enough",
      env: { CC_SIDECAR_NAME: "e2e-wrong-secret" },
    });
    started.push(s);
    await s.waitForLine(/the Worker refused this sidecar: TUNNEL_SECRET does not match/);
    await s.waitForLine(/reconnecting in 5 min/);
    expect(await waitForSidecars(url(), () => true)).toBe(before);
    expect(s.lines.join("\n")).not.toContain("a-wrong-tunnel-secret");
  });

  it("runs a personal sidecar on its owner's CCProxy key alone (no TUNNEL_SECRET), for that key only", async () => {
    const owner = await newKey();
    const other = await newKey();
    const s = scripted({ TUNNEL_SECRET: "", CCPROXY_KEY: owner.key, CC_SIDECAR_NAME: `e2e-own-${owner.id}` });
    await s.waitForLine(new RegExp(`connected to ws://.* \\(personal: ${owner.id}, `));
    const res = await ask(owner.key, "[[script:stream count=2 delay=10]]");
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("chunk 2 ");
    await s.waitForLine(/run req_/);
    // Another key's request never reaches it (a shared sidecar or a 503, never this one).
    const before = s.lines.filter((l) => /run req_/.test(l)).length;
    await (await ask(other.key, "[[script:stream count=1 delay=10]]")).arrayBuffer();
    expect(s.lines.filter((l) => /run req_/.test(l)).length).toBe(before);
    expect(s.lines.join("\n")).not.toContain(owner.key);
  });

  it("refuses to start a personal sidecar whose CCPROXY_KEY the Worker does not know", async () => {
    const s = scripted({ TUNNEL_SECRET: "", CCPROXY_KEY: "ccp_FakeKeyForTestsNotIssuedByAnyone" });
    await s.waitForLine(/refused CCPROXY_KEY \(401: unknown, revoked or expired\)/);
    expect(await s.exited).toBe(2);
    expect(s.lines.join("\n")).not.toContain("FakeKeyForTestsNotIssued");
  });

  it("streams each event to the client as the sidecar writes it", async () => {
    const { key, sidecar } = await personal();
    const t0 = Date.now();
    const res = await ask(key, "[[script:stream count=4 delay=300]]");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const arrivals: { at: number; text: string }[] = [];
    for await (const chunk of res.body as ReadableStream<Uint8Array>)
      arrivals.push({ at: Date.now() - t0, text: dec.decode(chunk) });
    const all = arrivals.map((a) => a.text).join("");
    expect(all).toContain("chunk 1 ");
    expect(all).toContain("chunk 4 ");
    expect(all.trimEnd().endsWith('data: {"type":"message_stop"}')).toBe(true);
    const first = arrivals.find((a) => a.text.includes("chunk 1 "));
    const last = arrivals.find((a) => a.text.includes("chunk 4 "));
    // 300 ms apart at the sidecar, so apart at the client too: nothing waited for the end.
    expect((last?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThan(600);
    await sidecar.waitForLine(/run req_/);
  });

  it("ends the client's stream with a clean error event when its sidecar is killed mid-stream", async () => {
    const { key, sidecar } = await personal();
    const res = await ask(key, "[[script:hang]]");
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    expect(dec.decode(first.value)).toContain("message_start");
    const killedAt = Date.now();
    await sidecar.stop("SIGKILL");
    let rest = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += dec.decode(value);
    }
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    expect(rest).toMatch(/^event: error\ndata: /);
    const error = JSON.parse(rest.split("\n")[1]?.slice(6) ?? "null") as {
      type: string;
      error: { type: string; message: string };
    };
    expect(error).toMatchObject({ type: "error", error: { type: "api_error" } });
    expect(error.error.message).toMatch(/sidecar disconnected/);
  });

  it("aborts the run on the sidecar when the client goes away", async () => {
    const { key, sidecar } = await personal();
    const controller = new AbortController();
    const res = await ask(key, "[[script:stream count=100 delay=200]]", { signal: controller.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    const run = await sidecar.waitForLine(/run req_/);
    const requestId = run.split(" ").at(-1) ?? "";
    controller.abort();
    await sidecar.waitForLine(new RegExp(`aborted ${requestId}`), 10_000);
  });

  it("answers 503 in the route's format for a key whose personal sidecar is not connected", async () => {
    const { key, sidecar } = await personal();
    expect(await sidecar.stop("SIGTERM")).toBe(0);
    const t0 = Date.now();
    const res = await ask(key, "hello");
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
      /personal Claude Code sidecar/,
    );
    expect(Date.now() - t0).toBeLessThan(5_000);
    const oai = await ask(key, "hello", { path: "/cc/v1/chat/completions" });
    expect(oai.status).toBe(503);
    expect(await oai.json()).toMatchObject({ error: { type: "server_error", code: "service_unavailable" } });
  });

  it("drains on SIGTERM: the running stream completes, then the sidecar exits 0 and leaves /health", async () => {
    const { key, sidecar } = await personal();
    const before = await waitForSidecars(url(), (n) => n >= 1);
    const res = await ask(key, "[[script:stream count=6 delay=150]]");
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    const stopping = sidecar.stop("SIGTERM");
    let body = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      body += dec.decode(value);
    }
    expect(body).toContain("chunk 6 ");
    expect(body).toContain("message_stop");
    expect(await stopping).toBe(0);
    await sidecar.waitForLine(/SIGTERM: draining 1 running request/);
    await waitForSidecars(url(), (n) => n === before - 1);
  });
});
