// GET /v1/me: the calling key's own name, modes, models, limits, what is left of each budget, and its
// usage today and this month. A key sees only itself; the call counts against no limit.

import type { Ctx } from "../context.ts";
import { authenticate } from "../middleware/auth.ts";
import { keyTotals } from "../usage/ledger.ts";

const left = (limit: number | null, used: number) => (limit === null ? null : Math.max(0, limit - used));

export async function me(c: Ctx): Promise<Response> {
  const { identity, status } = await authenticate(c);
  const { record, spent, inFlight, resets } = status;
  const now = new Date();
  const dayStart = `${now.toISOString().slice(0, 10)}T00:00:00.000Z`;
  const monthStart = `${now.toISOString().slice(0, 7)}-01T00:00:00.000Z`;
  const [today, month] = await Promise.all([
    keyTotals(c.env.DB, identity.keyId, dayStart),
    keyTotals(c.env.DB, identity.keyId, monthStart),
  ]);
  return c.json({
    id: record.id,
    name: record.name,
    key_prefix: record.key_prefix,
    modes: record.modes,
    models: record.models,
    byo: record.byo,
    expires_at: record.expires_at,
    limits: {
      rpm: record.rpm,
      max_concurrent: record.max_concurrent,
      budget_usd_day: record.budget_usd_day,
      budget_usd_month: record.budget_usd_month,
      tokens_per_day: record.tokens_per_day,
    },
    remaining: {
      requests_this_minute: left(record.rpm, status.requestsLastMinute),
      // Each budget less what requests in flight hold of that same period.
      budget_usd_day: left(record.budget_usd_day, spent.day.usd + inFlight.day.usd),
      budget_usd_month: left(record.budget_usd_month, spent.month.usd + inFlight.month.usd),
      tokens_per_day: left(record.tokens_per_day, spent.day.tokens + inFlight.day.tokens),
    },
    spent: { today_usd: spent.day.usd, today_tokens: spent.day.tokens, this_month_usd: spent.month.usd },
    in_flight: {
      requests: inFlight.requests,
      usd_reserved: inFlight.month.usd,
      usd_reserved_today: inFlight.day.usd,
      tokens_reserved: inFlight.day.tokens,
    },
    resets,
    usage: { today, this_month: month },
  });
}
