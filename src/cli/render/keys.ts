// How keys look on a terminal: the list table, one key's fields, and the one-time secret banner.

import { MODES } from "../../shared/admin-api.ts";
import type { CreatedKey, KeyRecord } from "../api.ts";
import {
  DASH,
  formatBool,
  formatBudget,
  formatCount,
  formatDate,
  formatRelative,
  formatTime,
} from "../format.ts";
import { type Column, renderFields, renderTable } from "../table.ts";

export type KeyStatus = "active" | "revoked" | "expired";

export function keyStatus(k: KeyRecord, now: Date): KeyStatus {
  if (k.revoked_at !== null) return "revoked";
  if (k.expires_at !== null && new Date(k.expires_at).getTime() <= now.getTime()) return "expired";
  return "active";
}

/** The limits that are set, in a few words: `60/min, 4 at once, $50.00/month`; `—` when none. */
export function limitsSummary(k: KeyRecord): string {
  const parts: string[] = [];
  if (k.rpm !== null) parts.push(`${formatCount(k.rpm)}/min`);
  if (k.max_concurrent !== null) parts.push(`${formatCount(k.max_concurrent)} at once`);
  if (k.budget_usd_day !== null) parts.push(`${formatBudget(k.budget_usd_day)}/day`);
  if (k.budget_usd_month !== null) parts.push(`${formatBudget(k.budget_usd_month)}/month`);
  if (k.tokens_per_day !== null) parts.push(`${formatCount(k.tokens_per_day)} tokens/day`);
  return parts.length === 0 ? DASH : parts.join(", ");
}

const prefix = (k: KeyRecord) => `${k.key_prefix}…`;

/** The modes a key may use, short for the list: `all` for every mode, which is also the default. */
const modesCell = (k: KeyRecord) => (MODES.every((m) => k.modes.includes(m)) ? "all" : k.modes.join(","));

/** The `keys list` table; a STATUS column only when some key shown is not active. */
export function keysTable(keys: KeyRecord[], now: Date): string[] {
  const columns: Column<KeyRecord>[] = [
    { header: "ID", cell: (k) => k.id },
    { header: "NAME", maxWidth: 24, cell: (k) => k.name },
    { header: "KEY", cell: prefix },
    { header: "MODES", cell: modesCell },
    { header: "LIMITS", cell: limitsSummary },
    { header: "EXPIRES", cell: (k) => formatDate(k.expires_at) },
  ];
  if (keys.some((k) => keyStatus(k, now) !== "active"))
    columns.push({ header: "STATUS", cell: (k) => keyStatus(k, now) });
  return renderTable(columns, keys);
}

function when(iso: string | null, now: Date): string {
  return iso === null ? DASH : `${formatTime(iso)} (${formatRelative(iso, now)})`;
}

/** Every field of one key, labelled, for `keys show`, `create`, `update` and `revoke`. */
export function keyFields(k: KeyRecord, now: Date): string[] {
  const status = keyStatus(k, now);
  return renderFields([
    ["id", k.id],
    ["name", k.name],
    ["key", prefix(k)],
    ["status", status === "revoked" ? `revoked ${formatTime(k.revoked_at)}` : status],
    ["modes", k.modes.join(", ")],
    ["models", k.models === null ? "all" : k.models.join(", ")],
    ["bring your own seat", formatBool(k.byo)],
    ["requests per minute", formatCount(k.rpm)],
    ["max concurrent", formatCount(k.max_concurrent)],
    ["budget per day", formatBudget(k.budget_usd_day)],
    ["budget per month", formatBudget(k.budget_usd_month)],
    ["tokens per day", formatCount(k.tokens_per_day)],
    ["expires", k.expires_at === null ? "never" : when(k.expires_at, now)],
    ["created", formatTime(k.created_at)],
    ["updated", formatTime(k.updated_at)],
  ]);
}

/** The answer to `keys create`: the secret once, with the warning, then the key's fields. */
export function createdKey(k: CreatedKey, now: Date): string[] {
  return [
    `Created key ${k.id} (${k.name}). Its secret:`,
    "",
    `    ${k.key}`,
    "",
    "Save it now: it will not be shown again.",
    "",
    ...keyFields(k, now),
  ];
}
