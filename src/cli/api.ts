// The admin API's wire shapes as the CLI reads them, and the light checks that turn a foreign answer
// (a proxy's HTML page, an older CCProxy) into a clear error instead of a crash.

export interface KeyRecord {
  id: string;
  name: string;
  key_prefix: string;
  modes: string[];
  models: string[] | null;
  byo: boolean;
  rpm: number | null;
  max_concurrent: number | null;
  budget_usd_day: number | null;
  budget_usd_month: number | null;
  tokens_per_day: number | null;
  expires_at: string | null;
  revoked_at: string | null;
  created_at: string;
  updated_at: string;
}

/** `POST /admin/keys` answers the record plus the secret, the only time it is ever shown. */
export interface CreatedKey extends KeyRecord {
  key: string;
}

export interface UsageTotals {
  requests: number;
  errors: number;
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  cost_usd: number | null;
  unpriced_requests: number;
}

export const GROUP_BY = ["key", "model", "day"] as const;
export type GroupBy = (typeof GROUP_BY)[number];

/** One row: the totals plus what it is grouped by (`key_id`+`key_name`, `model` or `day`). */
export interface UsageRow extends UsageTotals {
  key_id?: string;
  key_name?: string | null;
  model?: string | null;
  day?: string;
}

export interface UsageReport {
  from: string;
  to: string;
  group_by: GroupBy;
  data: UsageRow[];
  total: UsageTotals;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export function isKeyRecord(v: unknown): v is KeyRecord {
  return (
    isObj(v) &&
    typeof v.id === "string" &&
    typeof v.name === "string" &&
    typeof v.key_prefix === "string" &&
    Array.isArray(v.modes)
  );
}

export function isCreatedKey(v: unknown): v is CreatedKey {
  return isKeyRecord(v) && "key" in v && typeof v.key === "string";
}

export function isKeyList(v: unknown): v is { data: KeyRecord[] } {
  return isObj(v) && Array.isArray(v.data) && v.data.every(isKeyRecord);
}

function isTotals(v: unknown): v is UsageTotals {
  return isObj(v) && typeof v.requests === "number";
}

export function isUsageReport(v: unknown): v is UsageReport {
  return (
    isObj(v) &&
    typeof v.from === "string" &&
    typeof v.to === "string" &&
    Array.isArray(v.data) &&
    v.data.every(isTotals) &&
    isTotals(v.total)
  );
}

/** The message of an error body in Anthropic's shape (`{"type":"error","error":{"message"}}`) or OpenAI's. */
export function errorMessage(body: unknown): string | undefined {
  if (!isObj(body) || !isObj(body.error)) return undefined;
  const m = body.error.message;
  return typeof m === "string" ? m : undefined;
}
