// The admin API's wire shapes as the CLI reads them, and the light checks that turn a foreign answer
// (a proxy's HTML page, an older CCProxy) into a clear error instead of a crash.

import type { CreatedKey, KeyRecord, UsageReport, UsageTotals } from "../shared/admin-api.ts";

export type {
  CreatedKey,
  GroupBy,
  KeyRecord,
  UsageReport,
  UsageRow,
  UsageTotals,
} from "../shared/admin-api.ts";
export { GROUPS as GROUP_BY } from "../shared/admin-api.ts";

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

/** `GET /health` as CCProxy answers it (`{"status":"ok","name":"ccproxy","version":…}`). */
export function isCcproxyHealth(v: unknown): v is { name: "ccproxy"; version: string } {
  return isObj(v) && v.name === "ccproxy" && typeof v.version === "string";
}

/** The message of an error body in Anthropic's shape (`{"type":"error","error":{"message"}}`) or OpenAI's. */
export function errorMessage(body: unknown): string | undefined {
  if (!isObj(body) || !isObj(body.error)) return undefined;
  const m = body.error.message;
  return typeof m === "string" ? m : undefined;
}
