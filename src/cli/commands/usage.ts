// `ccproxy usage`: requests, tokens and cost from `GET /admin/usage` (or one key's
// `GET /admin/keys/:id/usage`), grouped by key, model or day.

import { GROUP_BY, type GroupBy, isUsageReport } from "../api.ts";
import { call, unexpected } from "../client.ts";
import { UsageError } from "../errors.ts";
import { usageReport } from "../render/usage.ts";
import { parseRangeBound } from "../time.ts";
import { type Context, printJson } from "./context.ts";

function groupBy(value: string | undefined, forKey: boolean): GroupBy | undefined {
  if (value === undefined) return undefined;
  const by = value.trim().toLowerCase();
  const allowed: readonly string[] = forKey ? ["day", "model"] : GROUP_BY;
  const found = GROUP_BY.find((g) => g === by);
  if (found === undefined || !allowed.includes(found))
    throw new UsageError(
      forKey
        ? `--by with --key must be day or model; got "${value}"`
        : `--by must be key, model or day; got "${value}"`,
      "usage",
    );
  return found;
}

export async function usage(ctx: Context): Promise<void> {
  const { values } = ctx;
  const keyId = values.key?.trim();
  if (keyId === "") throw new UsageError("--key needs a key id", "usage");
  const by = groupBy(values.by, keyId !== undefined);
  const from = values.from === undefined ? undefined : parseRangeBound("--from", values.from, "usage");
  const to = values.to === undefined ? undefined : parseRangeBound("--to", values.to, "usage");
  if (from !== undefined && to !== undefined && Date.parse(from) >= Date.parse(to))
    throw new UsageError("--from must be before --to (--to is exclusive)", "usage");

  const path = keyId === undefined ? "/usage" : `/keys/${encodeURIComponent(keyId)}/usage`;
  const res = await call(ctx.conn, {
    method: "GET",
    path,
    query: { from, to, group_by: by },
    ...(keyId === undefined ? {} : { keyId }),
  });
  if (!isUsageReport(res)) throw unexpected(ctx.conn, `GET /admin${path}`);
  if (values.json) return printJson(ctx, res);
  // Trust the API's group_by; fall back to what was asked (or the API's documented default).
  const shown = GROUP_BY.find((g) => g === res.group_by) ?? by ?? (keyId === undefined ? "key" : "day");
  ctx.print(usageReport({ ...res, group_by: shown }, keyId));
}
