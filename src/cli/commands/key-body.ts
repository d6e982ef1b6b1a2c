// The JSON body of `keys create` and `keys update` from their flags: only the fields given, limits and
// expiry cleared with `none`/`never` (JSON null) on update.

import type { Values } from "../args.ts";
import { UsageError } from "../errors.ts";
import { parseExpires } from "../time.ts";
import { commaList, positiveAmount, positiveInt } from "../values.ts";

export type KeyBody = Record<string, string | boolean | number | string[] | null>;

const INT_LIMITS = [
  ["rpm", "rpm"],
  ["max-concurrent", "max_concurrent"],
  ["tokens-per-day", "tokens_per_day"],
] as const;
const USD_LIMITS = [
  ["budget-usd-day", "budget_usd_day"],
  ["budget-usd-month", "budget_usd_month"],
] as const;

export function keyBody(values: Values, command: "keys create" | "keys update", now: Date): KeyBody {
  const update = command === "keys update";
  const body: KeyBody = {};
  if (values.name !== undefined) {
    if (values.name.trim() === "") throw new UsageError("--name cannot be empty", command);
    body.name = values.name.trim();
  }
  if (values.modes !== undefined) body.modes = commaList("modes", values.modes, command);
  if (values.models !== undefined && values["all-models"])
    throw new UsageError("give --models or --all-models, not both", command);
  if (values.models !== undefined) body.models = commaList("models", values.models, command);
  if (values["all-models"]) body.models = null;
  for (const [flag, field] of INT_LIMITS) {
    const v = values[flag];
    if (v !== undefined) body[field] = positiveInt(flag, v, command, update);
  }
  for (const [flag, field] of USD_LIMITS) {
    const v = values[flag];
    if (v !== undefined) body[field] = positiveAmount(flag, v, command, update);
  }
  if (values.expires !== undefined) {
    const never = update && ["never", "none"].includes(values.expires.trim().toLowerCase());
    body.expires_at = never ? null : parseExpires(values.expires, now, command);
    // A new key that is already expired is a mistake; on update a past time is a way to pause a key.
    if (!update && typeof body.expires_at === "string" && Date.parse(body.expires_at) <= now.getTime())
      throw new UsageError(`--expires is in the past (${body.expires_at})`, command);
  }
  if (values.byo && values["no-byo"]) throw new UsageError("give --byo or --no-byo, not both", command);
  if (values.byo) body.byo = true;
  if (values["no-byo"]) body.byo = false;
  return body;
}
