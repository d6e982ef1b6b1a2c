// Per-key limits as a team feels them: bursts, parallel tools and budgets held under concurrency.
import { describe, expect, it } from "vitest";
import { reservationUsd } from "../../src/shared/pricing.ts";
import { admin, call, ledgerRow, ledgerRowsForKey, messageBody, newKey } from "./helpers.ts";

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

  it("50 concurrent requests against a budget that covers 10: 10 admitted, spend within budget", async () => {
    const model = "claude-haiku-4-5";
    const body = messageBody({
      model,
      max_tokens: 1000,
      messages: [{ role: "user", content: "hello there" }],
    });
    // What the Worker reserves per request (prompt estimated from the body, max_tokens of output).
    const perRequest = reservationUsd(model, Math.ceil((11 + 8) / 3.5), 1000) ?? 0;
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
    const err = (await refused[0]?.json()) as { error: { type: string; message: string } };
    expect(err.error.type).toBe("rate_limit_error");
    expect(err.error.message).toMatch(/budget exhausted.*daily budget.*resets at \d{4}-\d{2}-\d{2}T00:00:00/);
    expect(Number(refused[0]?.headers.get("retry-after"))).toBeGreaterThan(0);
    const texts = await Promise.all(ok.map((r) => r.text()));
    for (const r of refused.slice(1)) await r.text();
    for (const r of ok) await ledgerRow(r.headers.get("x-request-id"));
    const spent = (await ledgerRowsForKey(k.id)).reduce((sum, r) => sum + (r.cost_usd ?? 0), 0);
    expect(spent).toBeGreaterThan(0);
    expect(spent).toBeLessThanOrEqual(budget);
    expect(texts.every((t) => t.includes('"type":"message"'))).toBe(true);
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
    expect(((await second.json()) as { error: { message: string } }).error.message).toMatch(/2000 tokens/);
  });

  it("a key with a USD budget may not use a model without a known price", async () => {
    const k = await newKey({ budget_usd_day: 5 });
    const res = await post("/api/v1/messages", k.key, messageBody({ model: "my-custom-model" }));
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/no price is known/);
    const free = await newKey();
    const ok = await post("/api/v1/messages", free.key, messageBody({ model: "my-custom-model" }));
    expect(ok.status).toBe(200);
    const row = await ledgerRow(ok.headers.get("x-request-id")).catch(async () => {
      await ok.text();
      return ledgerRow(ok.headers.get("x-request-id"));
    });
    expect(row.cost_usd).toBeNull();
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
});
