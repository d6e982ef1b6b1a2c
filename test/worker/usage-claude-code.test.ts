// Claude Code mode in the ledger and the budgets: the sidecar's trailer (usage summed over the agent's
// turns, the SDK's own cost) is what gets recorded and settled.
import { afterEach, describe, expect, it } from "vitest";
import { call, ledgerRow, newKey } from "./helpers.ts";
import { bytes, connect, readAll, settleFor, type TestSidecar } from "./tunnel-support.ts";

const open: TestSidecar[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) s.close();
  await settleFor(20);
});

async function agentSidecar(costUsd: number): Promise<TestSidecar> {
  const s = await connect({
    onRequest: (req) => {
      void (async () => {
        await readAll(req.body);
        req.respond(200, [["content-type", "application/json"]]);
        await req.write(bytes('{"type":"message","content":[{"type":"text","text":"done"}]}'));
        await req.end({
          usage: {
            input_tokens: 1200,
            output_tokens: 300,
            cache_read_input_tokens: 5000,
            cache_creation_input_tokens: 800,
          },
          costUsd,
          model: "claude-opus-5-5",
          outcome: "complete",
          numTurns: 3,
        });
      })();
    },
  });
  open.push(s);
  return s;
}

function ask(key: string, body: Record<string, unknown> = {}) {
  return call("/v1/messages", {
    method: "POST",
    headers: { "x-api-key": key, "content-type": "application/json" },
    body: JSON.stringify({
      model: "opus",
      max_tokens: 1024,
      messages: [{ role: "user", content: "hi" }],
      ...body,
    }),
  });
}

describe("Claude Code mode metering", () => {
  it("records the run with the tokens summed over its turns and the SDK's cost", async () => {
    await agentSidecar(0.4321);
    const k = await newKey();
    const res = await ask(k.key);
    expect(res.status).toBe(200);
    await res.text();
    const row = await ledgerRow(res.headers.get("x-request-id"));
    expect(row).toMatchObject({
      mode: "claude-code",
      route: "POST /v1/messages",
      model_requested: "opus",
      model_upstream: "claude-opus-5-5",
      input_tokens: 1200,
      output_tokens: 300,
      cache_read_input_tokens: 5000,
      cache_creation_input_tokens: 800,
      cost_usd: 0.4321,
      outcome: "complete",
    });
  });

  it("reserves a run's possible cost against the budget and settles it with the real one", async () => {
    await agentSidecar(0.01);
    // Opus 5.5 reserves ~10 turns × 4096 output tokens × $20/M ≈ $0.82 per run.
    const tight = await newKey({ budget_usd_day: 0.5 });
    const refused = await ask(tight.key);
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(
      /budget exhausted/,
    );

    const roomy = await newKey({ budget_usd_day: 2 });
    for (let i = 0; i < 3; i++) {
      const res = await ask(roomy.key);
      expect(res.status).toBe(200);
      await res.text();
      await ledgerRow(res.headers.get("x-request-id"));
    }
    await settleFor(50);
    const me = (await (await call("/v1/me", { headers: { "x-api-key": roomy.key } })).json()) as {
      spent: { today_usd: number };
      in_flight: { requests: number };
    };
    expect(me.spent.today_usd).toBeCloseTo(0.03, 10);
    expect(me.in_flight.requests).toBe(0);
  });
});
