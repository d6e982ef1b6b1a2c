// The admin API's wire shapes, shared by the Worker that serves them and the CLI that reads them.

export const MODES = ["api", "claude-code"] as const;
export type Mode = (typeof MODES)[number];

export const LIMIT_FIELDS = [
  "rpm",
  "max_concurrent",
  "budget_usd_day",
  "budget_usd_month",
  "tokens_per_day",
] as const;
export type LimitField = (typeof LIMIT_FIELDS)[number];
export type Limits = Record<LimitField, number | null>;

/** A key as the admin API shows it: everything but the secret and its hash. */
export interface KeyRecord extends Limits {
  id: string;
  name: string;
  key_prefix: string;
  modes: Mode[];
  models: string[] | null;
  byo: boolean;
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
  /** Null when nothing in the group had a known price. */
  cost_usd: number | null;
  /** Requests that used tokens of a model without a known price (their cost is not in cost_usd). */
  unpriced_requests: number;
  /**
   * Requests whose output count CCProxy estimated: streams that ended before the upstream reported
   * their usage. Absent from CCProxy versions before it was recorded.
   */
  estimated_requests?: number;
}

export const GROUPS = ["key", "model", "day"] as const;
export type GroupBy = (typeof GROUPS)[number];

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
