// What a client reads when a budget stops it, in each route's format: the budget really spent (wait
// for the reset), held by requests still in flight (retry in a moment), or too small for this one
// request's max_tokens (lower it). Each with retry-after, each in Anthropic and OpenAI shapes.
import { describe, expect, it } from "vitest";
import { estimatePromptTokens } from "../../src/shared/estimate.ts";
import { reservationUsd } from "../../src/shared/pricing.ts";
import { call, ledgerRow, messageBody, newKey } from "./helpers.ts";

const model = "claude-haiku-4-5";

function post(path: string, key: string, body: unknown, headers: Record<string, string> = {}) {
  return call(path, {
    method: "POST",
    headers: { "x-api-key": key, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

const chatBody = (maxTokens: number) => ({
  model,
  max_tokens: maxTokens,
  messages: [{ role: "user", content: "hi" }],
});

interface Refusal {
  status: number;
  retryAfter: number;
  type: string;
  code?: string | null;
  message: string;
}

async function anthropicRefusal(res: Response): Promise<Refusal> {
  const body = (await res.json()) as { type: string; error: { type: string; message: string } };
  expect(body.type).toBe("error");
  return {
    status: res.status,
    retryAfter: Number(res.headers.get("retry-after")),
    type: body.error.type,
    message: body.error.message,
  };
}

async function openaiRefusal(res: Response): Promise<Refusal> {
  const body = (await res.json()) as { error: { type: string; code: string | null; message: string } };
  return {
    status: res.status,
    retryAfter: Number(res.headers.get("retry-after")),
    type: body.error.type,
    code: body.error.code,
    message: body.error.message,
  };
}

/** Seconds from now to the next UTC midnight / first of next month. */
function secondsTo(period: "day" | "month"): number {
  const d = new Date();
  const next =
    period === "day"
      ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1)
      : Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  return (next - d.getTime()) / 1000;
}

describe("budget refusals", () => {
  it("held by requests in flight: 429 like a concurrency limit, retry-after 2, saying what holds it", async () => {
    const body = messageBody({ model, max_tokens: 1000, stream: true });
    const perRequest = reservationUsd(model, estimatePromptTokens(body), 1000) ?? 0;
    const k = await newKey({ budget_usd_day: perRequest * 1.5 });
    const first = await post("/api/v1/messages", k.key, body, {
      "x-mock-scenario": "long count=40 delay=25",
    });
    expect(first.status).toBe(200);

    const anthropic = await anthropicRefusal(await post("/api/v1/messages", k.key, body));
    expect(anthropic).toMatchObject({ status: 429, retryAfter: 2, type: "rate_limit_error" });
    expect(anthropic.message).toMatch(
      /^budget held: this key's daily budget of \$0\.\d+ has \$0\.\d+ left today, but requests in flight hold \$0\.\d+ of it and this request may need \$0\.\d+; retry when they finish$/,
    );

    const openai = await openaiRefusal(await post("/api/v1/chat/completions", k.key, chatBody(1000)));
    expect(openai).toMatchObject({
      status: 429,
      retryAfter: 2,
      type: "rate_limit_error",
      code: "rate_limit_exceeded",
    });
    expect(openai.message).toMatch(/^budget held: .*requests in flight hold/);
    await first.text();
  });

  it("one request dearer than what is left: names its cost and max_tokens, says to lower it", async () => {
    const k = await newKey({ budget_usd_day: 0.002 });
    const body = messageBody({ model, max_tokens: 4096 });
    const cost = reservationUsd(model, estimatePromptTokens(body), 4096) ?? 0;
    const anthropic = await anthropicRefusal(await post("/api/v1/messages", k.key, body));
    expect(anthropic).toMatchObject({ status: 429, type: "rate_limit_error" });
    expect(anthropic.message).toContain(
      `this request could cost up to $${cost.toFixed(4)} (max_tokens 4096); $0.0020 is left today`,
    );
    expect(anthropic.message).toMatch(
      / — lower max_tokens \(it resets at \d{4}-\d{2}-\d{2}T00:00:00\.000Z\)$/,
    );
    expect(anthropic.message).not.toMatch(/exhausted|used up/);
    expect(Math.abs(anthropic.retryAfter - secondsTo("day"))).toBeLessThan(5);

    // A smaller max_tokens fits.
    const fits = await post("/api/v1/messages", k.key, messageBody({ model, max_tokens: 100 }));
    expect(fits.status).toBe(200);
    await fits.text();

    const monthly = await newKey({ budget_usd_month: 0.002 });
    const openai = await openaiRefusal(
      await post("/api/v1/chat/completions", monthly.key, { ...chatBody(4096), max_completion_tokens: 4096 }),
    );
    expect(openai).toMatchObject({ status: 429, type: "insufficient_quota", code: "insufficient_quota" });
    expect(openai.message).toMatch(
      /^this request could cost up to \$0\.02\d+ \(max_tokens 4096\); \$0\.0020 is left this month .* lower max_tokens/,
    );
    expect(Math.abs(openai.retryAfter - secondsTo("month"))).toBeLessThan(5);
  });

  it("really spent: 'budget exhausted … used up … resets at', retry-after to the reset", async () => {
    const body = messageBody({ model, max_tokens: 100 });
    const perRequest = reservationUsd(model, estimatePromptTokens(body), 100) ?? 0;
    const k = await newKey({ budget_usd_day: perRequest * 1.5 });
    // The mock answers 300 words whatever max_tokens says: one request spends past the budget.
    const first = await post("/api/v1/messages", k.key, body, { "x-mock-scenario": "long count=300" });
    expect(first.status).toBe(200);
    await first.text();
    expect((await ledgerRow(first.headers.get("x-request-id"))).cost_usd).toBeGreaterThan(perRequest * 1.5);
    await scheduler.wait(50); // the settlement lands after the response

    const anthropic = await anthropicRefusal(await post("/api/v1/messages", k.key, body));
    expect(anthropic).toMatchObject({ status: 429, type: "rate_limit_error" });
    expect(anthropic.message).toMatch(
      /^budget exhausted: this key's daily budget of \$0\.\d+ is used up \(\$0\.\d+ spent\); it resets at \d{4}-\d{2}-\d{2}T00:00:00\.000Z$/,
    );
    expect(Math.abs(anthropic.retryAfter - secondsTo("day"))).toBeLessThan(5);

    const openai = await openaiRefusal(await post("/api/v1/chat/completions", k.key, chatBody(100)));
    expect(openai).toMatchObject({ status: 429, type: "insufficient_quota", code: "insufficient_quota" });
    expect(openai.message).toMatch(/^budget exhausted: .* is used up .* resets at /);
    expect(Math.abs(openai.retryAfter - secondsTo("day"))).toBeLessThan(5);

    // Calls that spend nothing still work: a spent budget is not a revoked key.
    const count = await post("/api/v1/messages/count_tokens", k.key, {
      model,
      messages: [{ role: "user", content: "hi" }],
    });
    expect(count.status).toBe(200);
  });

  it("tokens per day: the same three answers in tokens", async () => {
    const k = await newKey({ tokens_per_day: 500 });
    const big = await anthropicRefusal(
      await post("/api/v1/messages", k.key, messageBody({ model, max_tokens: 1000 })),
    );
    expect(big.message).toMatch(
      /^this request could use up to 1,0\d\d tokens \(max_tokens 1000\); 500 tokens are left today of this key's daily allowance of 500 tokens — lower max_tokens/,
    );
    const first = await post("/api/v1/messages", k.key, messageBody({ model, max_tokens: 10 }), {
      "x-mock-scenario": "long count=600",
    });
    expect(first.status).toBe(200);
    await first.text();
    await ledgerRow(first.headers.get("x-request-id"));
    await scheduler.wait(50);
    const spent = await openaiRefusal(await post("/api/v1/chat/completions", k.key, chatBody(10)));
    expect(spent).toMatchObject({ status: 429, type: "insufficient_quota" });
    expect(spent.message).toMatch(
      /^budget exhausted: this key's daily allowance of 500 tokens is used up \([\d,]+ tokens used\); it resets at /,
    );
  });
});
