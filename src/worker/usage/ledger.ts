// The usage ledger in D1: one row per request, and the sums the admin API and /v1/me report.

import type { GroupBy, UsageTotals } from "../../shared/admin-api.ts";

export { GROUPS, type GroupBy, type UsageTotals } from "../../shared/admin-api.ts";

export interface UsageRow {
  request_id: string;
  key_id: string;
  created_at: string;
  day: string;
  mode: string;
  route: string;
  format: string;
  model_requested: string | null;
  model_upstream: string | null;
  status: number;
  stream: number;
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  cost_usd: number | null;
  ttfb_ms: number | null;
  duration_ms: number;
  outcome: string;
  error_type: string | null;
  /** 1 when the output count is CCProxy's estimate (a stream that ended before its final usage). */
  usage_estimated: number;
}

const ROW_COLUMNS = [
  "request_id",
  "key_id",
  "created_at",
  "day",
  "mode",
  "route",
  "format",
  "model_requested",
  "model_upstream",
  "status",
  "stream",
  "input_tokens",
  "output_tokens",
  "cache_creation_input_tokens",
  "cache_read_input_tokens",
  "cost_usd",
  "ttfb_ms",
  "duration_ms",
  "outcome",
  "error_type",
  "usage_estimated",
] as const satisfies ReadonlyArray<keyof UsageRow>;

const INSERT = `INSERT INTO usage (${ROW_COLUMNS.join(", ")}) VALUES (${ROW_COLUMNS.map(() => "?").join(", ")})`;

export async function insertUsage(db: D1Database, row: UsageRow): Promise<void> {
  await db
    .prepare(INSERT)
    .bind(...ROW_COLUMNS.map((c) => row[c]))
    .run();
}

const SUMS = `COUNT(*) AS requests,
  COALESCE(SUM(status >= 400), 0) AS errors,
  COALESCE(SUM(input_tokens), 0) AS input_tokens,
  COALESCE(SUM(output_tokens), 0) AS output_tokens,
  COALESCE(SUM(cache_creation_input_tokens), 0) AS cache_creation_input_tokens,
  COALESCE(SUM(cache_read_input_tokens), 0) AS cache_read_input_tokens,
  SUM(cost_usd) AS cost_usd,
  COALESCE(SUM(cost_usd IS NULL), 0) AS unpriced_requests,
  COALESCE(SUM(usage_estimated), 0) AS estimated_requests`;

const GROUP_SQL: Record<GroupBy, { select: string; by: string }> = {
  key: { select: "u.key_id AS key_id, k.name AS key_name", by: "u.key_id" },
  model: {
    select: "COALESCE(u.model_upstream, u.model_requested, '(none)') AS model",
    by: "COALESCE(u.model_upstream, u.model_requested, '(none)')",
  },
  day: { select: "u.day AS day", by: "u.day" },
};

export interface UsageQuery {
  from: string;
  to: string;
  groupBy: GroupBy;
  keyId?: string;
}

export async function usageReport(
  db: D1Database,
  q: UsageQuery,
): Promise<{ data: Array<Record<string, unknown>>; total: UsageTotals }> {
  const where = `u.created_at >= ? AND u.created_at < ?${q.keyId ? " AND u.key_id = ?" : ""}`;
  const args: unknown[] = q.keyId ? [q.from, q.to, q.keyId] : [q.from, q.to];
  const g = GROUP_SQL[q.groupBy];
  const [rows, total] = await db.batch<Record<string, unknown>>([
    db
      .prepare(
        `SELECT ${g.select}, ${SUMS} FROM usage u LEFT JOIN keys k ON k.id = u.key_id WHERE ${where} GROUP BY ${g.by} ORDER BY ${q.groupBy === "day" ? "day" : "cost_usd DESC, requests DESC"}`,
      )
      .bind(...args),
    db.prepare(`SELECT ${SUMS} FROM usage u WHERE ${where}`).bind(...args),
  ]);
  return { data: rows?.results ?? [], total: (total?.results[0] ?? {}) as unknown as UsageTotals };
}

/** A key's totals since `from` (ISO), for /v1/me. */
export async function keyTotals(db: D1Database, keyId: string, from: string): Promise<UsageTotals> {
  const row = await db
    .prepare(`SELECT ${SUMS} FROM usage u WHERE u.key_id = ? AND u.created_at >= ?`)
    .bind(keyId, from)
    .first<UsageTotals>();
  return row as UsageTotals;
}
