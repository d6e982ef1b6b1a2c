// Admin usage reports: grouped by key, model and day, over a from/to window, with sums that equal the
// ledger rows they cover and unpriced requests counted apart. Rows in a past month are written
// straight to D1 so the window holds exactly what each test expects.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { UsageReport as Report, UsageTotals } from "../../src/shared/admin-api.ts";
import { admin, call, ledgerRow, ledgerRowsForKey, messageBody, newKey } from "./helpers.ts";

interface Row {
  key: string;
  at: string;
  model: string | null;
  status?: number;
  tokens: [number, number, number, number];
  cost: number | null;
  estimated?: boolean;
}

/** Writes ledger rows as the Worker would have, at the given times. */
async function seed(rows: Row[]): Promise<void> {
  await env.DB.batch(
    rows.map((r) =>
      env.DB.prepare(
        `INSERT INTO usage (request_id, key_id, created_at, day, mode, route, format, model_requested,
           model_upstream, status, stream, input_tokens, output_tokens, cache_creation_input_tokens,
           cache_read_input_tokens, cost_usd, ttfb_ms, duration_ms, outcome, error_type, usage_estimated)
         VALUES (?, ?, ?, ?, 'api', 'POST /api/v1/messages', 'anthropic', ?, ?, ?, 0, ?, ?, ?, ?, ?, 10, 20, 'complete', NULL, ?)`,
      ).bind(
        `req_seed_${crypto.randomUUID()}`,
        r.key,
        r.at,
        r.at.slice(0, 10),
        r.model,
        r.model,
        r.status ?? 200,
        ...r.tokens,
        r.cost,
        r.estimated ? 1 : 0,
      ),
    ),
  );
}

async function report(path: string): Promise<Report> {
  const res = await admin("GET", path);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as Report;
}

/** What the report must say for these rows; estimated_requests is always present in this version. */
type Totals = Required<UsageTotals>;

function sums(rows: Row[]): Totals {
  const priced = rows.filter((r) => r.cost !== null);
  return {
    requests: rows.length,
    errors: rows.filter((r) => (r.status ?? 200) >= 400).length,
    input_tokens: rows.reduce((n, r) => n + r.tokens[0], 0),
    output_tokens: rows.reduce((n, r) => n + r.tokens[1], 0),
    cache_creation_input_tokens: rows.reduce((n, r) => n + r.tokens[2], 0),
    cache_read_input_tokens: rows.reduce((n, r) => n + r.tokens[3], 0),
    cost_usd: priced.length === 0 ? null : priced.reduce((n, r) => n + (r.cost ?? 0), 0),
    unpriced_requests: rows.length - priced.length,
    estimated_requests: rows.filter((r) => r.estimated).length,
  };
}

function expectTotals(actual: UsageTotals | undefined, expected: Totals): void {
  const { cost_usd, ...rest } = expected;
  expect(actual).toMatchObject(rest);
  if (cost_usd === null) expect(actual?.cost_usd).toBeNull();
  else expect(actual?.cost_usd).toBeCloseTo(cost_usd, 12);
}

describe("admin usage", async () => {
  // One month in the past, all to ourselves: 2019-03 (no other test writes there).
  const alice = await newKey({ name: "alice-usage" });
  const bob = await newKey({ name: "bob-usage" });
  const rows: Row[] = [
    {
      key: alice.id,
      at: "2019-03-01T08:00:00.000Z",
      model: "claude-haiku-4-5",
      tokens: [100, 20, 0, 0],
      cost: 0.0002,
    },
    {
      key: alice.id,
      at: "2019-03-01T23:59:59.999Z",
      model: "claude-sonnet-4-5",
      tokens: [50, 10, 5, 400],
      cost: 0.00045,
      estimated: true, // a stream that ended before its usage came
    },
    {
      key: bob.id,
      at: "2019-03-02T00:00:00.000Z",
      model: "claude-haiku-4-5",
      tokens: [10, 0, 0, 0],
      cost: 0,
      status: 529,
    },
    {
      key: bob.id,
      at: "2019-03-02T12:00:00.000Z",
      model: "my-custom-model",
      tokens: [30, 30, 0, 0],
      cost: null,
    },
    {
      key: alice.id,
      at: "2019-03-03T09:30:00.000Z",
      model: "claude-haiku-4-5",
      tokens: [7, 3, 0, 0],
      cost: 0.000022,
    },
  ];
  // Just outside the window on each side.
  const outside: Row[] = [
    {
      key: alice.id,
      at: "2019-02-28T23:59:59.999Z",
      model: "claude-haiku-4-5",
      tokens: [1, 1, 0, 0],
      cost: 1,
    },
    {
      key: alice.id,
      at: "2019-03-04T00:00:00.000Z",
      model: "claude-haiku-4-5",
      tokens: [1, 1, 0, 0],
      cost: 1,
    },
  ];
  await seed([...rows, ...outside]);
  const window = "from=2019-03-01&to=2019-03-04";

  it("by day: one group per UTC day, from inclusive, to exclusive, sums equal to the rows", async () => {
    const r = await report(`/usage?${window}&group_by=day`);
    expect(r).toMatchObject({
      from: "2019-03-01T00:00:00.000Z",
      to: "2019-03-04T00:00:00.000Z",
      group_by: "day",
    });
    expect(r.data.map((d) => d.day)).toEqual(["2019-03-01", "2019-03-02", "2019-03-03"]);
    for (const d of r.data) expectTotals(d, sums(rows.filter((x) => x.at.startsWith(d.day ?? "?"))));
    expectTotals(r.total, sums(rows));
    expect(r.total.unpriced_requests).toBe(1);
    expect(r.total.errors).toBe(1);
    expect(r.total.estimated_requests).toBe(1);
  });

  it("by model: the unpriced model has cost null and counts as unpriced", async () => {
    const r = await report(`/usage?${window}&group_by=model`);
    const byModel = new Map(r.data.map((d) => [d.model, d]));
    expect([...byModel.keys()].sort()).toEqual(["claude-haiku-4-5", "claude-sonnet-4-5", "my-custom-model"]);
    for (const [model, d] of byModel) expectTotals(d, sums(rows.filter((x) => x.model === model)));
    expect(byModel.get("my-custom-model")).toMatchObject({ cost_usd: null, unpriced_requests: 1 });
  });

  it("by key (the default): each key with its name", async () => {
    const r = await report(`/usage?${window}`);
    expect(r.group_by).toBe("key");
    const mine = r.data.filter((d) => d.key_id === alice.id || d.key_id === bob.id);
    expect(mine).toHaveLength(2);
    for (const d of mine) {
      expect(d.key_name).toBe(d.key_id === alice.id ? "alice-usage" : "bob-usage");
      expectTotals(d, sums(rows.filter((x) => x.key === d.key_id)));
    }
  });

  it("from/to as ISO 8601 with an offset are read as the instants they name", async () => {
    // 01:00+01:00 is midnight UTC: the 2nd and 3rd only.
    const from = encodeURIComponent("2019-03-02T01:00:00+01:00");
    const r = await report(`/usage?from=${from}&to=2019-03-03T09:30:00Z&group_by=day`);
    expect(r.from).toBe("2019-03-02T00:00:00.000Z");
    // `to` is exclusive: the row at exactly 09:30 on the 3rd is out.
    expectTotals(
      r.total,
      sums(rows.filter((x) => x.at >= "2019-03-02" && x.at < "2019-03-03T09:30:00.000Z")),
    );
    expect(r.data.map((d) => d.day)).toEqual(["2019-03-02"]);
  });

  it("a key's own report, by day or model, and only its rows", async () => {
    const r = await report(`/keys/${bob.id}/usage?${window}&group_by=model`);
    expectTotals(r.total, sums(rows.filter((x) => x.key === bob.id)));
    expect(r.data.map((d) => d.model).sort()).toEqual(["claude-haiku-4-5", "my-custom-model"]);
  });

  it("refuses a bad group_by, a bad date, and an unknown key, in Anthropic's error format", async () => {
    const cases: Array<[string, number, RegExp]> = [
      ["/usage?group_by=week", 400, /group_by: expected one of key, model, day/],
      [`/keys/${alice.id}/usage?group_by=key`, 400, /group_by: expected one of day, model/],
      ["/usage?from=yesterday", 400, /from: expected YYYY-MM-DD or ISO 8601, got "yesterday"/],
      ["/usage?to=2019-13-45", 400, /to: expected YYYY-MM-DD or ISO 8601/],
      ["/keys/key_nope/usage", 404, /no such key/],
    ];
    for (const [path, status, message] of cases) {
      const res = await admin("GET", path);
      expect(res.status, path).toBe(status);
      const body = (await res.json()) as { type: string; error: { type: string; message: string } };
      expect(body.type).toBe("error");
      expect(body.error.message, path).toMatch(message);
    }
  });

  it("by default, this month so far: today's real requests, their sums equal to their ledger rows", async () => {
    const k = await newKey();
    const ids: Array<string | null> = [];
    for (const scenario of ["text cache read=300 write=40", "error status=500", "text"]) {
      const res = await call("/api/v1/messages", {
        method: "POST",
        headers: { "x-api-key": k.key, "content-type": "application/json", "x-mock-scenario": scenario },
        body: JSON.stringify(messageBody({ model: "claude-haiku-4-5" })),
      });
      await res.text();
      ids.push(res.headers.get("x-request-id"));
    }
    for (const id of ids) await ledgerRow(id);
    const ledger = await ledgerRowsForKey(k.id);
    const r = await report(`/keys/${k.id}/usage`);
    expect(r.from).toBe(`${new Date().toISOString().slice(0, 7)}-01T00:00:00.000Z`);
    expect(r.total).toMatchObject({
      requests: 3,
      errors: 1,
      input_tokens: ledger.reduce((n, x) => n + x.input_tokens, 0),
      output_tokens: ledger.reduce((n, x) => n + x.output_tokens, 0),
      cache_creation_input_tokens: 40,
      cache_read_input_tokens: 300,
      unpriced_requests: 0,
      estimated_requests: 0,
    });
    expect(r.total.cost_usd).toBeCloseTo(
      ledger.reduce((n, x) => n + (x.cost_usd ?? 0), 0),
      12,
    );
  });
});
