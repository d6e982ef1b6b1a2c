// Which sidecar gets a request: the least busy eligible one; personal sidecars only for their keys
// (and those keys only on them, connected or not); a bounded wait when none is free, then 503/529 in
// the route's format; one retry on another sidecar after a refusal before the head.
import { afterEach, describe, expect, it } from "vitest";
import type { IncomingRequest } from "../../src/shared/tunnel/index.ts";
import { call, newKey } from "./helpers.ts";
import { bytes, connect, settleFor, sidecarCount, type TestSidecar } from "./tunnel-support.ts";

/** SIDECAR_WAIT_MS in vitest.config.ts. */
const WAIT_MS = 300;
const open: TestSidecar[] = [];

afterEach(async () => {
  for (const s of open.splice(0)) s.close();
  await settleFor(20);
});

async function sidecar(...args: Parameters<typeof connect>): Promise<TestSidecar> {
  const s = await connect(...args);
  open.push(s);
  return s;
}

function ask(key: string, path = "/v1/messages"): Promise<Response> {
  return call(path, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "claude-sonnet-4-5", messages: [{ role: "user", content: "hi" }] }),
  });
}

async function answer(req: IncomingRequest, textOut = "ok"): Promise<void> {
  req.respond(200, [["content-type", "text/plain"]]);
  await req.write(bytes(textOut));
  await req.end();
}

/** A sidecar that answers every request at once with its own name. */
function echoName(name: string) {
  return { hello: { name }, onRequest: (req: IncomingRequest) => void answer(req, name) };
}

describe("no sidecar", () => {
  it("answers 503 with retry-after in Anthropic format after the bounded wait", async () => {
    expect(await sidecarCount()).toBe(0);
    const k = await newKey();
    const started = Date.now();
    const res = await ask(k.key);
    const waited = Date.now() - started;
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    const body = (await res.json()) as { type: string; error: { type: string; message: string } };
    expect(body).toMatchObject({ type: "error", error: { type: "api_error" } });
    expect(body.error.message).toMatch(/No Claude Code sidecar is connected/);
    expect(waited).toBeGreaterThanOrEqual(WAIT_MS - 20);
    expect(waited).toBeLessThan(WAIT_MS + 1500);
  });

  it("answers 503 in OpenAI format on chat completions", async () => {
    const k = await newKey();
    const res = await ask(k.key, "/cc/v1/chat/completions");
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    const body = (await res.json()) as { error: { type: string; code: string; message: string } };
    expect(body.error).toMatchObject({ type: "server_error", code: "service_unavailable" });
    expect(body).not.toHaveProperty("type");
  });

  it("refuses client-defined tools with a 400 pointing to API mode at once, in both formats", async () => {
    expect(await sidecarCount()).toBe(0);
    const k = await newKey();
    const post = (path: string, body: Record<string, unknown>) =>
      call(path, {
        method: "POST",
        headers: { authorization: `Bearer ${k.key}`, "content-type": "application/json" },
        body: JSON.stringify({
          model: "claude-sonnet-4-5",
          messages: [{ role: "user", content: "hi" }],
          ...body,
        }),
      });
    const started = Date.now();
    const a = await post("/v1/messages", {
      tools: [{ name: "get_weather", input_schema: { type: "object" } }],
    });
    expect(Date.now() - started).toBeLessThan(WAIT_MS); // no wait for a sidecar: it would not matter
    expect(a.status).toBe(400);
    const ab = (await a.json()) as { type: string; error: { type: string; message: string } };
    expect(ab).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
    expect(ab.error.message).toContain("API mode: /api/v1/messages");
    const def = { name: "get_weather", parameters: { type: "object" } };
    for (const [field, value] of [
      ["tools", [{ type: "function", function: def }]],
      ["functions", [def]],
    ] as const) {
      const o = await post("/cc/v1/chat/completions", { [field]: value });
      expect(o.status).toBe(400);
      const ob = (await o.json()) as { error: { type: string; param: string; message: string } };
      expect(ob.error).toMatchObject({ type: "invalid_request_error", param: field });
      expect(ob.error.message).toContain("API mode: /api/v1/chat/completions");
    }
    // An empty list is no tool at all; that request goes on to look for a sidecar (none: 503).
    expect((await post("/v1/messages", { tools: [] })).status).toBe(503);
  });

  it("never hands a request with client-defined tools to a sidecar", async () => {
    const s = await sidecar(echoName("tools"));
    const k = await newKey();
    const res = await call("/v1/messages", {
      method: "POST",
      headers: { authorization: `Bearer ${k.key}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "claude-sonnet-4-5",
        messages: [{ role: "user", content: "hi" }],
        tools: [{ name: "x", input_schema: { type: "object" } }],
      }),
    });
    expect(res.status).toBe(400);
    expect(s.requests).toHaveLength(0);
  });

  it("serves a request whose sidecar connects during the wait", async () => {
    const k = await newKey();
    const pending = ask(k.key);
    await settleFor(80);
    await sidecar(echoName("late"));
    const res = await pending;
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("late");
  });
});

describe("least busy", () => {
  it("sends each request to the sidecar with the fewest running requests", async () => {
    const a = await sidecar({ hello: { name: "a", maxConcurrent: 4 } });
    const b = await sidecar({ hello: { name: "b", maxConcurrent: 4 } });
    const k = await newKey();
    const first = ask(k.key);
    await settleFor(50);
    const second = ask(k.key);
    await settleFor(50);
    // One each: neither got both.
    expect(a.requests).toHaveLength(1);
    expect(b.requests).toHaveLength(1);
    const third = ask(k.key);
    await settleFor(50);
    expect(a.requests.length + b.requests.length).toBe(3);
    for (const req of [...a.requests, ...b.requests]) void answer(req);
    for (const res of await Promise.all([first, second, third])) expect(res.status).toBe(200);
  });

  it("counts load relative to capacity", async () => {
    const small = await sidecar({ hello: { name: "small", maxConcurrent: 1 } });
    const big = await sidecar({ hello: { name: "big", maxConcurrent: 8 } });
    const k = await newKey();
    const pending = [ask(k.key), ask(k.key), ask(k.key)];
    await settleFor(80);
    expect(small.requests.length).toBeLessThanOrEqual(1);
    expect(big.requests.length).toBeGreaterThanOrEqual(2);
    for (const req of [...small.requests, ...big.requests]) void answer(req);
    await Promise.all(pending);
  });

  it("queues a request while every sidecar is full and serves it when one frees up", async () => {
    const s = await sidecar({ hello: { maxConcurrent: 1 } });
    const k = await newKey();
    const first = ask(k.key);
    const req1 = await s.nextRequest();
    const second = ask(k.key);
    await settleFor(50);
    expect(s.requests).toHaveLength(1);
    await answer(req1, "one");
    const req2 = await s.nextRequest();
    await answer(req2, "two");
    expect(await (await first).text()).toBe("one");
    expect(await (await second).text()).toBe("two");
  });

  it("answers 529 (OpenAI: 503) when every eligible sidecar stays full for the whole wait", async () => {
    const s = await sidecar({ hello: { maxConcurrent: 1 } });
    const k = await newKey();
    const first = ask(k.key);
    const req1 = await s.nextRequest();
    const res = await ask(k.key);
    expect(res.status).toBe(529);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe("overloaded_error");
    const oai = await ask(k.key, "/v1/chat/completions");
    expect(oai.status).toBe(503);
    expect(((await oai.json()) as { error: { code: string } }).error.code).toBe("overloaded");
    await answer(req1);
    expect((await first).status).toBe(200);
  });
});

describe("refusals before the head", () => {
  it("retries once on another sidecar when the first is overloaded", async () => {
    const refusing = await sidecar({
      hello: { name: "refusing" },
      onRequest: (req) => req.fail("overloaded", "queue full", 3),
    });
    const willing = await sidecar(echoName("willing"));
    const k = await newKey();
    // Two requests: whichever sidecar the first lands on, one of them meets the refusing one.
    for (let i = 0; i < 2; i++) {
      const res = await ask(k.key);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("willing");
    }
    expect(refusing.requests.length).toBeGreaterThanOrEqual(1);
    expect(willing.requests).toHaveLength(2);
  });

  it("passes the refusal through, with its retry-after, when no other sidecar can take it", async () => {
    await sidecar({ onRequest: (req) => req.fail("overloaded", "queue full", 3) });
    const k = await newKey();
    const res = await ask(k.key);
    expect(res.status).toBe(529);
    expect(res.headers.get("retry-after")).toBe("3");
    expect(await res.json()).toMatchObject({ error: { type: "overloaded_error", message: "queue full" } });
  });

  it("does not retry a sidecar's error that is not about capacity", async () => {
    const a = await sidecar({ onRequest: (req) => req.fail("internal", "the CLI is missing") });
    const b = await sidecar({ onRequest: (req) => req.fail("internal", "the CLI is missing") });
    const k = await newKey();
    const res = await ask(k.key);
    expect(res.status).toBe(500);
    expect(a.requests.length + b.requests.length).toBe(1);
  });
});

describe("personal sidecars", () => {
  it("sends a personal key's requests only to its sidecar, and other keys never there", async () => {
    const owner = await newKey({ name: "owner" });
    const other = await newKey({ name: "other" });
    const mine = await sidecar({
      hello: { name: "mine", serveKeys: [owner.id] },
      onRequest: (r) => void answer(r, "mine"),
    });
    const shared = await sidecar(echoName("shared"));
    for (let i = 0; i < 3; i++) {
      expect(await (await ask(owner.key)).text()).toBe("mine");
      expect(await (await ask(other.key)).text()).toBe("shared");
    }
    expect(mine.requests).toHaveLength(3);
    expect(shared.requests).toHaveLength(3);
  });

  it("answers 503 for a personal key whose sidecar is offline, never a shared sidecar", async () => {
    const owner = await newKey({ name: "owner" });
    const personal = await sidecar({ hello: { name: "laptop", serveKeys: [owner.id] } });
    const shared = await sidecar(echoName("shared"));
    personal.close();
    await settleFor(50);
    const res = await ask(owner.key, "/v1/chat/completions");
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { message: string; code: string } };
    expect(body.error.code).toBe("service_unavailable");
    expect(body.error.message).toMatch(/personal Claude Code sidecar/);
    expect(shared.requests).toHaveLength(0);
  });

  it("waits for a busy personal sidecar rather than using a free shared one", async () => {
    const owner = await newKey();
    const personal = await sidecar({ hello: { serveKeys: [owner.id], maxConcurrent: 1 } });
    const shared = await sidecar(echoName("shared"));
    const first = ask(owner.key);
    const req1 = await personal.nextRequest();
    const second = ask(owner.key);
    await settleFor(50);
    await answer(req1, "first");
    const req2 = await personal.nextRequest();
    await answer(req2, "second");
    expect(await (await first).text()).toBe("first");
    expect(await (await second).text()).toBe("second");
    expect(shared.requests).toHaveLength(0);
  });
});
