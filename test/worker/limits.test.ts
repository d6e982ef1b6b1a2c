// Per-key limits as a team feels them: bursts, parallel tools and budgets held under concurrency.
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { estimatePromptTokens } from "../../src/shared/estimate.ts";
import { reservationUsd } from "../../src/shared/pricing.ts";
import { admin, call, ledgerRow, ledgerRowsForKey, messageBody, newKey } from "./helpers.ts";

interface Me {
  spent: { today_usd: number };
  remaining: { budget_usd_day: number | null };
}

async function meOf(key: string): Promise<Me> {
  return (await (await call("/v1/me", { headers: { "x-api-key": key } })).json()) as Me;
}

async function until<T>(fn: () => Promise<T | undefined>, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await scheduler.wait(20);
  }
}

function post(path: string, key: string, body: unknown, headers: Record<string, string> = {}) {
  return call(path, {
    method: "POST",
    headers: { "x-api-key": key, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

const countBody = { model: "claude-sonnet-4-5", messages: [{ role: "user", content: "hi" }] };

describe("limits", () => {
  it("rpm 5 admits exactly 5 of 20 requests sent at once, the rest get 429 with retry-after", async () => {
    const k = await newKey({ rpm: 5 });
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => post("/v1/messages/count_tokens", k.key, countBody)),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
    const refused = responses.find((r) => r.status === 429);
    const retryAfter = Number(refused?.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    const body = (await refused?.json()) as { error: { type: string; message: string } };
    expect(body.error).toMatchObject({ type: "rate_limit_error" });
    expect(body.error.message).toMatch(/5 requests per minute/);
    await Promise.all(responses.filter((r) => r !== refused).map((r) => r.text()));
  });

  it("max_concurrent holds while requests are in flight and frees up when they end", async () => {
    const k = await newKey({ max_concurrent: 2 });
    const slow = { "x-mock-scenario": "text ttfb=400" };
    const first = post("/api/v1/messages", k.key, messageBody(), slow);
    const second = post("/api/v1/messages", k.key, messageBody(), slow);
    await scheduler.wait(100);
    const third = await post("/api/v1/messages", k.key, messageBody());
    expect(third.status).toBe(429);
    expect(((await third.json()) as { error: { message: string } }).error.message).toMatch(
      /2 requests at once/,
    );
    expect(third.headers.get("retry-after")).toBe("1");
    await (await first).text();
    await (await second).text();
    await scheduler.wait(50);
    const after = await post("/api/v1/messages", k.key, messageBody());
    expect(after.status).toBe(200);
    await after.text();
  });

  it("50 concurrent requests against a budget that covers 10: 10 admitted, 50 rows, spend within budget", async () => {
    const model = "claude-haiku-4-5";
    const body = messageBody({
      model,
      max_tokens: 1000,
      messages: [{ role: "user", content: "hello there" }],
    });
    // What the Worker reserves per request (prompt estimated from the body, max_tokens of output).
    const perRequest = reservationUsd(model, estimatePromptTokens(body), 1000) ?? 0;
    const budget = perRequest * 10 + perRequest / 2;
    const k = await newKey({ budget_usd_day: budget });
    const responses = await Promise.all(
      Array.from({ length: 50 }, () =>
        post("/api/v1/messages", k.key, body, { "x-mock-scenario": "long count=300 ttfb=300" }),
      ),
    );
    const ok = responses.filter((r) => r.status === 200);
    const refused = responses.filter((r) => r.status === 429);
    expect(ok).toHaveLength(10);
    expect(refused).toHaveLength(40);
    // Nothing is spent yet: the 10 in flight hold the budget, so the others may retry shortly.
    const err = (await refused[0]?.json()) as { error: { type: string; message: string } };
    expect(err.error.type).toBe("rate_limit_error");
    expect(err.error.message).toMatch(/^budget held: .*daily budget.*requests in flight hold/);
    expect(refused[0]?.headers.get("retry-after")).toBe("2");
    const texts = await Promise.all(ok.map((r) => r.text()));
    for (const r of refused.slice(1)) await r.text();
    for (const r of responses) await ledgerRow(r.headers.get("x-request-id"));
    const rows = await ledgerRowsForKey(k.id);
    expect(rows).toHaveLength(50);
    expect(rows.filter((r) => r.outcome === "refused")).toHaveLength(40);
    expect(rows.filter((r) => r.outcome === "complete" && r.status === 200)).toHaveLength(10);
    const spent = rows.reduce((sum, r) => sum + (r.cost_usd ?? 0), 0);
    expect(spent).toBeGreaterThan(0);
    expect(spent).toBeLessThanOrEqual(budget);
    expect(texts.every((t) => t.includes('"type":"message"'))).toBe(true);
  });

  it("when the upstream bills more than was reserved: spend ≤ budget + what was in flight at the last admission", async () => {
    const model = "claude-haiku-4-5";
    // max_tokens 50 is reserved, but the mock answers 100 words whatever max_tokens says.
    const body = messageBody({ model, max_tokens: 50, messages: [{ role: "user", content: "hello there" }] });
    const perRequest = reservationUsd(model, estimatePromptTokens(body), 50) ?? 0;
    const budget = perRequest * 10.5;
    const k = await newKey({ budget_usd_day: budget });
    const overrun = { "x-mock-scenario": "long count=100" };

    // Wave 1: one request, settled before anything else is admitted.
    const first = await post("/api/v1/messages", k.key, body, overrun);
    expect(first.status).toBe(200);
    await first.text();
    const firstCost = (await ledgerRow(first.headers.get("x-request-id"))).cost_usd ?? 0;
    expect(firstCost).toBeGreaterThan(perRequest); // the overrun is real
    expect(firstCost).toBeLessThan(budget);
    const settled = await until(async () => {
      const me = await meOf(k.key);
      return me.spent.today_usd > 0 ? me : undefined;
    });
    expect(settled.spent.today_usd).toBeCloseTo(firstCost, 12);

    // Wave 2: 50 at once. Admission counts the real spend so far plus each one's reservation.
    const responses = await Promise.all(
      Array.from({ length: 50 }, () =>
        post("/api/v1/messages", k.key, body, { "x-mock-scenario": "long count=100 ttfb=300" }),
      ),
    );
    const admitted = responses.filter((r) => r.status === 200);
    expect(admitted).toHaveLength(Math.floor((budget - firstCost) / perRequest));
    await Promise.all(responses.map((r) => r.text()));
    for (const r of responses) await ledgerRow(r.headers.get("x-request-id"));

    const rows = await ledgerRowsForKey(k.id);
    expect(rows).toHaveLength(51);
    const total = rows.reduce((sum, r) => sum + (r.cost_usd ?? 0), 0);
    const waveTwo = rows.filter(
      (r) => r.request_id !== first.headers.get("x-request-id") && r.status === 200,
    );
    const inFlightAtLastAdmission = waveTwo.reduce((sum, r) => sum + (r.cost_usd ?? 0), 0);
    expect(total).toBeGreaterThan(budget); // every admitted request overran its reservation…
    expect(total).toBeLessThanOrEqual(budget + inFlightAtLastAdmission); // …but only those in flight could

    // /v1/me's spent is the ledger's sum; nothing is left, and the next request is refused as spent.
    const me = await until(async () => {
      const m = await meOf(k.key);
      return Math.abs(m.spent.today_usd - total) < 1e-12 ? m : undefined;
    });
    expect(me.remaining.budget_usd_day).toBe(0);
    const next = await post("/api/v1/messages", k.key, body);
    expect(next.status).toBe(429);
    expect(((await next.json()) as { error: { message: string } }).error.message).toMatch(
      /^budget exhausted: .* is used up/,
    );
  });

  it("a key without budgets reports in /v1/me exactly what the ledger recorded, request after request", async () => {
    // No budget: nothing reads the key's spend before the first settle, so its cache starts cold.
    const k = await newKey();
    const body = messageBody({ model: "claude-haiku-4-5", max_tokens: 100 });
    for (let i = 1; i <= 3; i++) {
      const res = await post("/api/v1/messages", k.key, body);
      expect(res.status).toBe(200);
      await res.text();
      await ledgerRow(res.headers.get("x-request-id"));
      const rows = await ledgerRowsForKey(k.id);
      const total = rows.reduce((sum, r) => sum + (r.cost_usd ?? 0), 0);
      expect(total).toBeGreaterThan(0);
      const me = await until(async () => {
        const m = await meOf(k.key);
        return m.spent.today_usd > 0 && rows.length === i ? m : undefined;
      });
      expect(me.spent.today_usd).toBeCloseTo(total, 12);
    }
  });

  it("reserves web searches: a request whose web_search tool may run 5 is refused by a budget its tokens fit", async () => {
    const model = "claude-haiku-4-5";
    const plain = messageBody({ model, max_tokens: 100 });
    const searching = {
      ...plain,
      tools: [{ type: "web_search_20250305", name: "web_search", max_uses: 5 }],
    };
    const tokensOnly = reservationUsd(model, estimatePromptTokens(searching), 100) ?? 0;
    const k = await newKey({ budget_usd_day: tokensOnly + 0.04 });
    const refused = await post("/api/v1/messages", k.key, searching);
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(
      /^this request could cost up to \$0\.05\d+ \(max_tokens 100\)/,
    );
    const ok = await post("/api/v1/messages", k.key, plain);
    expect(ok.status).toBe(200);
    await ok.text();
  });

  it("a spent budget refuses the next request until it resets, in OpenAI format on OpenAI routes", async () => {
    const model = "claude-haiku-4-5";
    const k = await newKey({ budget_usd_month: 0.002 });
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const res = await post("/api/v1/messages", k.key, messageBody({ model, max_tokens: 100 }), {
        "x-mock-scenario": "long count=60",
      });
      statuses.push(res.status);
      await res.text();
      if (res.status === 429) break;
    }
    expect(statuses.at(-1)).toBe(429);
    const rows = await ledgerRowsForKey(k.id);
    const spent = rows.reduce((sum, r) => sum + (r.cost_usd ?? 0), 0);
    expect(spent).toBeLessThanOrEqual(0.002);
    const oa = await post("/api/v1/chat/completions", k.key, {
      model: "claude-haiku-4-5",
      max_tokens: 100,
      messages: [{ role: "user", content: "hi" }],
    });
    expect(oa.status).toBe(429);
    const body = (await oa.json()) as { error: { type: string; code: string; message: string } };
    expect(body.error).toMatchObject({ type: "insufficient_quota", code: "insufficient_quota" });
    expect(body.error.message).toMatch(/monthly budget/);
  });

  it("tokens_per_day counts every token kind", async () => {
    const k = await newKey({ tokens_per_day: 2000 });
    const first = await post("/api/v1/messages", k.key, messageBody({ max_tokens: 100 }), {
      "x-mock-scenario": "text cache read=1900",
    });
    expect(first.status).toBe(200);
    await first.text();
    await ledgerRow(first.headers.get("x-request-id"));
    await scheduler.wait(50);
    const second = await post("/api/v1/messages", k.key, messageBody({ max_tokens: 100 }));
    expect(second.status).toBe(429);
    expect(((await second.json()) as { error: { message: string } }).error.message).toMatch(
      /^this request could use up to 1\d\d tokens \(max_tokens 100\); \d+ tokens are left today of this key's daily allowance of 2,000 tokens/,
    );
  });

  it("a key with a USD budget may not use a model without a known price", async () => {
    const k = await newKey({ budget_usd_day: 5 });
    const res = await post("/api/v1/messages", k.key, messageBody({ model: "my-custom-model" }));
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/no price is known/);
    const free = await newKey();
    const ok = await post("/api/v1/messages", free.key, messageBody({ model: "my-custom-model" }));
    expect(ok.status).toBe(200);
    await ok.text();
    expect((await ledgerRow(ok.headers.get("x-request-id"))).cost_usd).toBeNull();
  });

  it("a limit change takes effect on the next request", async () => {
    const k = await newKey();
    const r1 = await post("/v1/messages/count_tokens", k.key, countBody);
    expect(r1.status).toBe(200);
    await r1.text();
    expect((await admin("PATCH", `/keys/${k.id}`, { rpm: 1 })).status).toBe(200);
    const r2 = await post("/v1/messages/count_tokens", k.key, countBody);
    expect(r2.status).toBe(429);
    await r2.text();
    expect((await admin("PATCH", `/keys/${k.id}`, { rpm: null })).status).toBe(200);
    const r3 = await post("/v1/messages/count_tokens", k.key, countBody);
    expect(r3.status).toBe(200);
    await r3.text();
  });

  it("keys with a budget may not create message batches (they cannot be metered)", async () => {
    const k = await newKey({ budget_usd_month: 10 });
    const res = await post("/api/v1/messages/batches", k.key, {
      requests: [{ custom_id: "a", params: messageBody() }],
    });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/Batches/);
  });
});

describe("rate refusals on OpenAI routes", () => {
  const chat = (key: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
    post(
      "/api/v1/chat/completions",
      key,
      { model: "claude-haiku-4-5", messages: [{ role: "user", content: "hi" }], ...extra },
      headers,
    );

  async function openaiError(res: Response) {
    return {
      status: res.status,
      retryAfter: res.headers.get("retry-after"),
      body: (await res.json()) as { error: { type: string; code: string; message: string; param: null } },
    };
  }

  it("rpm: 429 in OpenAI's shape with retry-after", async () => {
    const k = await newKey({ rpm: 1 });
    const first = await chat(k.key);
    expect(first.status).toBe(200);
    await first.text();
    const second = await openaiError(await chat(k.key));
    expect(second.status).toBe(429);
    expect(second.body.error).toMatchObject({ type: "rate_limit_error", code: "rate_limit_exceeded" });
    expect(second.body.error.message).toMatch(/1 requests per minute/);
    expect(Number(second.retryAfter)).toBeGreaterThanOrEqual(55);
    expect(Number(second.retryAfter)).toBeLessThanOrEqual(60);
  });

  it("max_concurrent: 429 in OpenAI's shape with retry-after: 1", async () => {
    const k = await newKey({ max_concurrent: 1 });
    const slow = await chat(k.key, { stream: true }, { "x-mock-scenario": "long count=30 delay=25" });
    expect(slow.status).toBe(200);
    const second = await openaiError(await chat(k.key));
    expect(second).toMatchObject({ status: 429, retryAfter: "1" });
    expect(second.body.error).toMatchObject({ type: "rate_limit_error", code: "rate_limit_exceeded" });
    expect(second.body.error.message).toMatch(/1 requests at once/);
    await slow.text();
  });
});

describe("/v1/me", () => {
  it("shows the caller's own key, limits, what is left and its usage, and nobody else's", async () => {
    const alice = await newKey({ name: "alice", budget_usd_day: 1, rpm: 100, models: ["claude-*"] });
    const bob = await newKey({ name: "bob" });
    for (let i = 0; i < 3; i++) {
      const r = await post("/api/v1/messages", alice.key, messageBody({ model: "claude-haiku-4-5" }));
      await r.text();
      await ledgerRow(r.headers.get("x-request-id"));
    }
    const r = await post("/api/v1/messages", bob.key, messageBody());
    await r.text();
    await ledgerRow(r.headers.get("x-request-id"));

    const res = await call("/v1/me", { headers: { authorization: `Bearer ${alice.key}` } });
    expect(res.status).toBe(200);
    const me = (await res.json()) as {
      id: string;
      name: string;
      limits: { budget_usd_day: number; rpm: number };
      remaining: { budget_usd_day: number; requests_this_minute: number };
      usage: { today: { requests: number; cost_usd: number }; this_month: { requests: number } };
    };
    expect(me.id).toBe(alice.id);
    expect(me.name).toBe("alice");
    expect(me.limits).toMatchObject({ budget_usd_day: 1, rpm: 100 });
    expect(me.usage.today.requests).toBe(3);
    expect(me.usage.this_month.requests).toBe(3);
    expect(me.remaining.budget_usd_day).toBeCloseTo(1 - me.usage.today.cost_usd, 9);
    expect(me.remaining.requests_this_minute).toBe(97);
    expect(JSON.stringify(me)).not.toContain(bob.id);
    expect(JSON.stringify(me)).not.toContain(alice.key);

    const bobMe = (await (await call("/v1/me", { headers: { "x-api-key": bob.key } })).json()) as {
      usage: { today: { requests: number } };
    };
    expect(bobMe.usage.today.requests).toBe(1);
    expect((await call("/v1/me", { headers: { "x-api-key": "ccp_nope" } })).status).toBe(401);
  });

  it("what is left today counts only what requests in flight hold of today", async () => {
    const k = await newKey({ budget_usd_day: 1, budget_usd_month: 10 });
    const stub = env.KEYS.get(env.KEYS.idFromName(k.id));
    // A request admitted on an earlier day of this month and still running: it holds this month's
    // budget, not today's. (Seeded in the object's storage, then read back as after a restart.)
    const month = new Date().toISOString().slice(0, 7);
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.kv.put("res:seeded", {
        usd: 0.25,
        tokens: 100,
        day: "2000-01-01",
        month,
        at: Date.now(),
      });
    });
    await evictDurableObject(stub);
    const me = (await (await call("/v1/me", { headers: { "x-api-key": k.key } })).json()) as {
      remaining: { budget_usd_day: number; budget_usd_month: number };
      in_flight: { requests: number; usd_reserved: number; usd_reserved_today: number };
    };
    expect(me.in_flight).toMatchObject({ requests: 1, usd_reserved: 0.25, usd_reserved_today: 0 });
    expect(me.remaining.budget_usd_day).toBe(1);
    expect(me.remaining.budget_usd_month).toBeCloseTo(9.75, 12);
  });
});
