// Turning flag values into what the API takes: positive numbers, `none`/`never` as null, comma lists.

import { UsageError } from "./errors.ts";

const NONE = new Set(["none", "null", "unlimited"]);

/** A positive whole number; with `clearable`, `none` → null (clears the limit). */
export function positiveInt(flag: string, value: string, command: string, clearable: boolean): number | null {
  const v = value.trim();
  if (clearable && NONE.has(v.toLowerCase())) return null;
  const n = Number(v.replaceAll("_", ""));
  if (v === "" || !Number.isSafeInteger(n) || n <= 0)
    throw new UsageError(
      `--${flag} must be a positive whole number${clearable ? " or none" : ""}; got "${value}"`,
      command,
    );
  return n;
}

/** A positive amount (USD budgets); `$` is allowed; with `clearable`, `none` → null. */
export function positiveAmount(
  flag: string,
  value: string,
  command: string,
  clearable: boolean,
): number | null {
  const v = value.trim().replace(/^\$/, "");
  if (clearable && NONE.has(v.toLowerCase())) return null;
  const n = Number(v);
  if (v === "" || !Number.isFinite(n) || n <= 0)
    throw new UsageError(
      `--${flag} must be a positive amount in USD${clearable ? " or none" : ""}; got "${value}"`,
      command,
    );
  return n;
}

/** `a,b , c` → `["a","b","c"]`; at least one item. */
export function commaList(flag: string, value: string, command: string): string[] {
  const items = value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (items.length === 0) throw new UsageError(`--${flag} needs at least one value`, command);
  return items;
}
