// Claude Code mode in the ledger and the budgets: the sidecar's trailer (usage summed over the agent's
// turns, the SDK's own cost) is what gets recorded and settled — also for a run the client abandoned
// (the sidecar's `summary` of the stopped run), and, when no report can come (the link dropped), the
// reservation, flagged as an estimate.

import { afterEach, describe, expect, it } from "vitest";
import type { IncomingRequest } from "../../src/shared/tunnel/index.ts";
import { call, ledgerRow, ledgerRowsForKey, newKey } from "./helpers.ts";
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
      /could cost up to \$0\.8/,
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

/** What a stopped run had used, as the runner reports it after the client left. */
const STOPPED = {
  usage: {
    input_tokens: 7000,
    output_tokens: 900,
    cache_read_input_tokens: 20000,
    cache_creation_input_tokens: 0,
  },
  costUsd: null,
  model: "claude-opus-5-5",
  outcome: "aborted",
  numTurns: 4,
  // The interrupted model call's output is the sidecar's estimate of what it streamed.
  estimated: true,
};

/** A sidecar that streams until the client leaves, then reports what the run used by then. */
async function abandonedSidecar(
  reply: (req: IncomingRequest) => Promise<void>,
  features: string[] = ["summary"],
): Promise<TestSidecar> {
  const s = await connect({
    hello: { features },
    onRequest: (req) => {
      void (async () => {
        await readAll(req.body);
        await reply(req);
      })();
    },
  });
  open.push(s);
  return s;
}

async function me(key: string) {
  const res = await call("/v1/me", { headers: { "x-api-key": key } });
  return (await res.json()) as {
    spent: { today_usd: number; today_tokens: number };
    in_flight: { requests: number; usd_reserved_today: number; tokens_reserved: number };
  };
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}

describe("Claude Code mode runs that did not complete", () => {
  it("bills a run the client abandoned mid-stream for what it used until it stopped", async () => {
    await abandonedSidecar(async (req) => {
      req.respond(200, [["content-type", "text/event-stream"]]);
      await req.write(bytes('event: message_start\ndata: {"type":"message_start"}\n\n'));
      await aborted(req.signal);
      await settleFor(30); // the CLI winds down
      req.summarize(STOPPED);
    });
    const k = await newKey({ budget_usd_day: 5 });
    const res = await ask(k.key, { stream: true });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await reader.cancel("the user closed the tab");
    const row = await ledgerRow(res.headers.get("x-request-id"));
    expect(row).toMatchObject({
      outcome: "aborted",
      input_tokens: 7000,
      output_tokens: 900,
      cache_read_input_tokens: 20000,
      model_upstream: "claude-opus-5-5",
    });
    expect(row.cost_usd).toBeGreaterThan(0); // priced from the tokens (the SDK gave no cost)
    expect((row as typeof row & { usage_estimated: number }).usage_estimated).toBe(1);
    await settleFor(50);
    const after = await me(k.key);
    expect(after.spent.today_usd).toBeCloseTo(row.cost_usd ?? Number.NaN, 10);
    expect(after.spent.today_tokens).toBe(27900);
    expect(after.in_flight.requests).toBe(0);
  });

  it("bills a non-streaming run the client left before its answer, with the SDK's cost", async () => {
    await abandonedSidecar(async (req) => {
      await aborted(req.signal); // a long agent run: no head yet when the client gives up
      req.summarize({ ...STOPPED, costUsd: 0.37 });
    });
    const k = await newKey();
    const controller = new AbortController();
    const pending = call("/v1/messages", {
      method: "POST",
      signal: controller.signal,
      headers: { "x-api-key": k.key, "content-type": "application/json" },
      body: JSON.stringify({ model: "opus", max_tokens: 1024, messages: [{ role: "user", content: "hi" }] }),
    }).catch((e: unknown) => e);
    await settleFor(100);
    controller.abort();
    await pending;
    const rows = await rowsOf(k.id);
    expect(rows).toHaveLength(1);
    // 499: the client closed the request before any answer.
    expect(rows[0]).toMatchObject({ status: 499, outcome: "aborted", input_tokens: 7000, cost_usd: 0.37 });
  });

  it("charges what was reserved, flagged as an estimate, when the link drops mid-run", async () => {
    let inFlight: Awaited<ReturnType<typeof me>> | null = null;
    const k = await newKey({ budget_usd_day: 5 });
    const s = await abandonedSidecar(async (req) => {
      req.respond(200, [["content-type", "text/event-stream"]]);
      await req.write(bytes('event: message_start\ndata: {"type":"message_start"}\n\n'));
      inFlight = await me(k.key);
      s.close(); // the sidecar's machine went away: no summary can come
    });
    const res = await ask(k.key, { stream: true });
    const body = new TextDecoder().decode(await readAll(res.body));
    expect(body).toContain("event: error");
    const row = (await ledgerRow(res.headers.get("x-request-id"))) as Awaited<
      ReturnType<typeof ledgerRow>
    > & {
      usage_estimated: number;
    };
    const held = inFlight as Awaited<ReturnType<typeof me>> | null;
    expect(held?.in_flight.requests).toBe(1);
    expect(row.outcome).toBe("error");
    expect(row.usage_estimated).toBe(1);
    expect(row.cost_usd).toBeCloseTo(held?.in_flight.usd_reserved_today ?? Number.NaN, 10);
    expect(row.input_tokens + row.output_tokens).toBe(held?.in_flight.tokens_reserved);
    await settleFor(50);
    expect((await me(k.key)).spent.today_usd).toBeCloseTo(row.cost_usd ?? Number.NaN, 10);
  });

  it("charges what was reserved when a sidecar that predates summaries is cancelled", async () => {
    const k = await newKey();
    await abandonedSidecar(async (req) => {
      req.respond(200, [["content-type", "text/event-stream"]]);
      await req.write(bytes('event: message_start\ndata: {"type":"message_start"}\n\n'));
      await aborted(req.signal);
      expect(req.summarize(STOPPED)).toBe(false); // it could not have sent one
    }, []);
    const t0 = Date.now();
    const res = await ask(k.key, { stream: true });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await reader.cancel("gone");
    const row = (await ledgerRow(res.headers.get("x-request-id"))) as Awaited<
      ReturnType<typeof ledgerRow>
    > & {
      usage_estimated: number;
    };
    expect(Date.now() - t0).toBeLessThan(2000); // nothing to wait for
    expect(row).toMatchObject({ outcome: "aborted", usage_estimated: 1 });
    expect(row.cost_usd).toBeGreaterThan(0.5); // ~10 Opus turns of 4096 output tokens
  });
});

async function rowsOf(keyId: string) {
  const deadline = Date.now() + 3000;
  for (;;) {
    const rows = await ledgerRowsForKey(keyId);
    if (rows.length > 0 || Date.now() > deadline) return rows;
    await settleFor(20);
  }
}
