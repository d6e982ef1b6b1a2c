// The KeyGuard Durable Object across its own lifecycle: limits hold when the object is evicted with
// requests in flight (its memory is gone, its storage is not), and a cold object that many requests
// and an admin change hit at once ends up with the record the admin call returned.
import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { estimatePromptTokens } from "../../src/shared/estimate.ts";
import { reservationUsd } from "../../src/shared/pricing.ts";
import { admin, call, messageBody, newKey } from "./helpers.ts";

function post(path: string, key: string, body: unknown, headers: Record<string, string> = {}) {
  return call(path, {
    method: "POST",
    headers: { "x-api-key": key, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

const guard = (keyId: string) => env.KEYS.get(env.KEYS.idFromName(keyId));

/** A streamed request that stays in flight until `finish` drains it (the mock sends 40 slow deltas). */
async function inFlight(key: string, body = messageBody({ stream: true })) {
  const res = await post("/api/v1/messages", key, body, { "x-mock-scenario": "long count=40 delay=25" });
  expect(res.status).toBe(200);
  return { res, finish: () => res.text() };
}

async function refusal(
  res: Response,
): Promise<{ status: number; message: string; retryAfter: string | null }> {
  const body = (await res.json()) as { error: { message: string } };
  return { status: res.status, message: body.error.message, retryAfter: res.headers.get("retry-after") };
}

describe("KeyGuard eviction", () => {
  it("max_concurrent 1 + rpm 1: a stream in flight, 429, evict, still 429", async () => {
    const k = await newKey({ max_concurrent: 1, rpm: 1 });
    const stream = await inFlight(k.key);
    expect((await post("/api/v1/messages", k.key, messageBody())).status).toBe(429);
    await evictDurableObject(guard(k.id));
    const third = await post("/api/v1/messages", k.key, messageBody());
    expect(third.status).toBe(429);
    await third.text();
    await stream.finish();
  });

  it("an open reservation outlives eviction, and its release does too", async () => {
    const k = await newKey({ max_concurrent: 1 });
    const stream = await inFlight(k.key);
    await evictDurableObject(guard(k.id));
    expect(await refusal(await post("/api/v1/messages", k.key, messageBody()))).toMatchObject({
      status: 429,
      message: expect.stringMatching(/1 requests at once/),
      retryAfter: "1",
    });
    await stream.finish();
    await scheduler.wait(50); // the settlement runs after the response, via waitUntil
    await evictDurableObject(guard(k.id));
    const after = await post("/api/v1/messages", k.key, messageBody());
    expect(after.status).toBe(200);
    await after.text();
  });

  it("the last minute's admissions outlive eviction (rpm)", async () => {
    const k = await newKey({ rpm: 2 });
    for (let i = 0; i < 2; i++) {
      const r = await post("/api/v1/messages", k.key, messageBody());
      expect(r.status).toBe(200);
      await r.text();
    }
    await evictDurableObject(guard(k.id));
    const third = await refusal(await post("/api/v1/messages", k.key, messageBody()));
    expect(third).toMatchObject({ status: 429, message: expect.stringMatching(/2 requests per minute/) });
    expect(Number(third.retryAfter)).toBeGreaterThanOrEqual(55);
    expect(Number(third.retryAfter)).toBeLessThanOrEqual(60);
  });

  it("budget held by a request in flight is still held after eviction", async () => {
    const model = "claude-haiku-4-5";
    const body = messageBody({ model, max_tokens: 1000, stream: true });
    const perRequest = reservationUsd(model, estimatePromptTokens(body), 1000) ?? 0;
    const k = await newKey({ budget_usd_day: perRequest * 1.5 });
    const stream = await inFlight(k.key, body);
    await evictDurableObject(guard(k.id));
    const second = await refusal(await post("/api/v1/messages", k.key, body));
    expect(second).toMatchObject({ status: 429, message: expect.stringMatching(/^budget held/) });
    await stream.finish();
  });
});

describe("KeyGuard loading", () => {
  it("a cold object hit by 30 requests and a revoke at once: nothing is admitted after the revoke returns", async () => {
    const k = await newKey();
    const countBody = { model: "claude-sonnet-4-5", messages: [{ role: "user", content: "hi" }] };
    const count = () => post("/v1/messages/count_tokens", k.key, countBody);
    expect((await count()).status).toBe(200);
    await evictDurableObject(guard(k.id)); // cold again: its record must be read from D1 first
    const burst = Array.from({ length: 30 }, count);
    const revoked = await admin("DELETE", `/keys/${k.id}`);
    expect(revoked.status).toBe(200);
    const after = await Promise.all(Array.from({ length: 10 }, count));
    expect(after.map((r) => r.status)).toEqual(Array(10).fill(401));
    // The burst raced the revoke: each request was answered either way, none failed.
    const statuses = (await Promise.all(burst)).map((r) => r.status);
    expect(statuses.every((s) => s === 200 || s === 401)).toBe(true);
  });
});
