// Streaming through `wrangler dev` as a client feels it: events arrive as the upstream sends them (no
// buffering), and a client that leaves closes the upstream connection.
import { request } from "node:http";
import { beforeAll, describe, expect, it } from "vitest";
import { SseDecoderStream } from "../../src/shared/sse/decode.ts";
import { byTestId, mockUrl, newKey, until, upstreamRequests, url } from "./helpers.ts";

let key: string;
beforeAll(async () => {
  key = (await newKey()).key;
});

function streamRequest(base: string, scenario: string, testId: string, signal?: AbortSignal) {
  return fetch(`${base}/v1/messages`, {
    method: "POST",
    headers: {
      "x-api-key": key,
      "content-type": "application/json",
      "anthropic-version": "2023-06-01",
      "x-mock-scenario": scenario,
      "x-test-id": testId,
    },
    body: JSON.stringify({
      model: "claude-sonnet-4-5",
      max_tokens: 64,
      stream: true,
      messages: [{ role: "user", content: "one two three four five" }],
    }),
    ...(signal ? { signal } : {}),
  });
}

/** Arrival time (ms since the request started) of every SSE event. */
async function eventTimes(res: Response, started: number): Promise<Array<{ event: string; at: number }>> {
  const out: Array<{ event: string; at: number }> = [];
  const reader = res.body?.pipeThrough(new SseDecoderStream()).getReader();
  if (!reader) throw new Error("no body");
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return out;
    out.push({ event: value.event ?? "", at: performance.now() - started });
  }
}

describe("streaming through CCProxy", () => {
  it("delivers each event as it is produced, like the direct path", async () => {
    const scenario = "slow delay=150";
    const t0 = performance.now();
    const direct = eventTimes(await streamRequest(mockUrl(), scenario, crypto.randomUUID()), t0);
    const t1 = performance.now();
    const proxied = eventTimes(await streamRequest(`${url()}/api`, scenario, crypto.randomUUID()), t1);
    const [d, p] = await Promise.all([direct, proxied]);
    expect(p.map((e) => e.event)).toEqual(d.map((e) => e.event));
    expect(p.length).toBeGreaterThan(6);
    // Buffering would bunch events at the end: instead each one arrives about when the direct one does.
    for (let i = 0; i < p.length; i++) {
      expect(Math.abs((p[i]?.at ?? 0) - (d[i]?.at ?? 0)), `event ${i}`).toBeLessThan(120);
    }
    expect(p[0]?.at ?? Number.POSITIVE_INFINITY).toBeLessThan((p.at(-1)?.at ?? 0) - 600);
  });

  it("closes the upstream connection when the client aborts mid-stream", async () => {
    const testId = crypto.randomUUID();
    const ctrl = new AbortController();
    const res = await streamRequest(`${url()}/api`, "slow delay=200", testId, ctrl.signal);
    const reader = res.body?.getReader();
    await reader?.read();
    ctrl.abort();
    const seen = await until(async () => {
      const [r] = await upstreamRequests(byTestId(testId));
      return r?.clientClosedEarly ? r : undefined;
    }, 3000);
    expect(seen.clientClosedEarly).toBe(true);
  });
});

/** A raw HTTP request, path sent exactly as given (fetch would normalize it). */
function rawRequest(path: string, headers: Record<string, string>, body: string): Promise<number> {
  const target = new URL(url());
  return new Promise((done, fail) => {
    const req = request(
      { host: target.hostname, port: target.port, method: "POST", path, headers },
      (res) => {
        res.resume();
        res.on("end", () => done(res.statusCode ?? 0));
      },
    );
    req.on("error", fail);
    req.end(body);
  });
}

describe("path normalization over the wire", () => {
  it("never lets traversal or encoded paths reach the upstream", async () => {
    const testId = crypto.randomUUID();
    const headers = { "x-api-key": key, "content-type": "application/json", "x-test-id": testId };
    const body = JSON.stringify({
      model: "claude-sonnet-4-5",
      max_tokens: 8,
      messages: [{ role: "user", content: "x" }],
    });
    const paths = [
      "/api/v1/../../admin/keys",
      "/api/v1/../../v1/messages",
      "/api/v1/%2e%2e/%2e%2e/admin/keys",
      "/api/v1/..%2f..%2fadmin/keys",
      "/api/v1/messages/..%5c..%5cx",
      "/api/v1\\..\\..\\admin",
      "/api/v1//messages",
      "/api/v1/./messages/../../x",
      "/api/https://evil.example/v1/messages",
      "/api/v1/https://evil.example/v1/messages",
      "/api/v1/http:%2F%2Fevil.example%2Fv1%2Fmessages",
      "/api///evil.example/v1/messages",
    ];
    for (const p of paths) {
      const status = await rawRequest(p, headers, body);
      expect([200, 400, 401, 404, 405, 503], `${p} -> ${status}`).toContain(status);
    }
    expect(await upstreamRequests(byTestId(testId))).toEqual([]);
  });
});
