// What the tables look like: keys with their limits and status, usage with a total, `*` on costs that
// miss unpriced requests, and both within 80 columns for ordinary data.

import { describe, expect, it } from "vitest";
import type { KeyRecord, UsageReport, UsageRow } from "../../src/cli/api.ts";
import { createdKey, keyFields, keysTable, limitsSummary } from "../../src/cli/render/keys.ts";
import { usageReport } from "../../src/cli/render/usage.ts";

const now = new Date("2026-11-25T12:00:00.000Z");

function key(over: Partial<KeyRecord> = {}): KeyRecord {
  return {
    id: "key_AbCdEfGhIjKlMnOp",
    name: "alice",
    key_prefix: "ccp_Ab12Cd",
    modes: ["api", "claude-code"],
    models: null,
    byo: false,
    rpm: null,
    max_concurrent: null,
    budget_usd_day: null,
    budget_usd_month: null,
    tokens_per_day: null,
    expires_at: null,
    revoked_at: null,
    created_at: "2026-11-01T09:30:00.000Z",
    updated_at: "2026-11-01T09:30:00.000Z",
    ...over,
  };
}

const totals = (requests: number, cost: number | null, unpriced = 0) => ({
  requests,
  errors: 0,
  input_tokens: requests * 1000,
  output_tokens: requests * 250,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: requests * 10_000,
  cost_usd: cost,
  unpriced_requests: unpriced,
});

describe("keys", () => {
  it("summarises the limits that are set", () => {
    expect(limitsSummary(key())).toBe("—");
    expect(
      limitsSummary(key({ rpm: 60, max_concurrent: 4, budget_usd_month: 50, tokens_per_day: 1_000_000 })),
    ).toBe("60/min, 4 at once, $50.00/month, 1,000,000 tokens/day");
  });

  it("lists keys without a STATUS column while all are active", () => {
    const lines = keysTable(
      [key({ rpm: 60, budget_usd_month: 50 }), key({ id: "key_2", name: "bob", modes: ["api"] })],
      now,
    );
    expect(lines).toEqual([
      "ID                    NAME   KEY          MODES  LIMITS                EXPIRES",
      "key_AbCdEfGhIjKlMnOp  alice  ccp_Ab12Cd…  all    60/min, $50.00/month  —",
      "key_2                 bob    ccp_Ab12Cd…  api    —                     —",
    ]);
    expect(lines.every((l) => [...l].length <= 80)).toBe(true);
  });

  it("adds STATUS when a key is revoked or expired", () => {
    const lines = keysTable(
      [key({ revoked_at: "2026-11-20T00:00:00.000Z" }), key({ expires_at: "2026-11-24T00:00:00.000Z" })],
      now,
    );
    expect(lines[0]).toMatch(/STATUS$/);
    expect(lines[1]).toMatch(/revoked$/);
    expect(lines[2]).toMatch(/2026-11-24 {2}expired$/);
  });

  it("shows every field of one key", () => {
    const text = keyFields(
      key({ models: ["claude-*"], byo: true, budget_usd_day: 5, expires_at: "2026-12-25T12:00:00.000Z" }),
      now,
    ).join("\n");
    expect(text).toContain("models               claude-*");
    expect(text).toContain("bring your own seat  yes");
    expect(text).toContain("budget per day       $5.00");
    expect(text).toContain("requests per minute  —");
    expect(text).toContain("expires              2026-12-25 12:00 UTC (in 30 days)");
  });

  it("prints the secret once, with the warning", () => {
    const lines = createdKey({ ...key(), key: "ccp_SECRETSECRETSECRETSECRETSECRET12" }, now);
    expect(lines.filter((l) => l.includes("ccp_SECRET"))).toEqual([
      "    ccp_SECRETSECRETSECRETSECRETSECRET12",
    ]);
    expect(lines.join("\n")).toMatch(/save it now: it will not be shown again/i);
  });
});

describe("usage", () => {
  const report = (data: UsageRow[], over: Partial<UsageReport> = {}): UsageReport => ({
    from: "2026-11-01T00:00:00.000Z",
    to: "2026-11-25T12:00:00.000Z",
    group_by: "key",
    data,
    total: totals(
      data.reduce((n, r) => n + r.requests, 0),
      data.reduce((n, r) => n + (r.cost_usd ?? 0), 0),
      data.reduce((n, r) => n + r.unpriced_requests, 0),
    ),
    ...over,
  });

  it("a row per key, a total under a rule, within 80 columns", () => {
    const lines = usageReport(
      report([
        { key_id: "key_1", key_name: "alice", ...totals(12, 0.0423) },
        { key_id: "key_2", key_name: "bob", ...totals(1200, 12.5) },
      ]),
    );
    expect(lines).toEqual([
      "Usage by key, 2026-11-01 00:00 UTC to 2026-11-25 12:00 UTC",
      "",
      "KEY    REQUESTS  ERRORS      INPUT   OUTPUT  CACHE WRITE  CACHE READ      COST",
      "alice        12       0     12,000    3,000            0     120,000   $0.0423",
      "bob       1,200       0  1,200,000  300,000            0  12,000,000  $12.5000",
      "─────  ────────  ──────  ─────────  ───────  ───────────  ──────────  ────────",
      "total     1,212       0  1,212,000  303,000            0  12,120,000  $12.5423",
    ]);
    expect(lines.every((l) => [...l].length <= 80)).toBe(true);
  });

  it("marks costs that leave out unpriced requests, and explains the mark", () => {
    const lines = usageReport(
      report(
        [
          { model: "claude-sonnet-4-5", ...totals(2, 0.01) },
          { model: "claude-future-9", ...totals(3, null, 3) },
        ],
        { group_by: "model" },
      ),
    );
    expect(lines[2]).toMatch(/^MODEL\s/);
    expect(lines[3]).toMatch(/\$0\.0100 $/);
    expect(lines[4]).toMatch(/—\*$/);
    expect(lines.at(-1)).toBe("* 3 requests to models without a price: counted, but not in the cost.");
  });

  it("says how many output counts are estimates, when any are", () => {
    const data = [{ key_id: "key_1", key_name: "ci", ...totals(4, 0.02) }];
    const base = report(data);
    expect(usageReport(base).some((l) => l.includes("estimated"))).toBe(false);
    const lines = usageReport({ ...base, total: { ...base.total, estimated_requests: 2 } });
    expect(lines.slice(-2)).toEqual([
      "",
      "2 requests ended before the upstream reported usage: output estimated from what was streamed.",
    ]);
  });

  it("shows ids when two keys share a name, and says so when there is nothing", () => {
    const lines = usageReport(
      report([
        { key_id: "key_1", key_name: "ci", ...totals(1, 0) },
        { key_id: "key_2", key_name: "ci", ...totals(1, 0) },
      ]),
    );
    expect(lines[2]).toMatch(/^KEY\s+ID\s+REQUESTS/);
    expect(usageReport(report([]), "key_9")).toEqual([
      "Usage of key key_9 by key, 2026-11-01 00:00 UTC to 2026-11-25 12:00 UTC",
      "",
      "No requests in this period.",
    ]);
  });
});
