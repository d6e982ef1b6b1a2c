// Cell formatting for the CLI's tables and field lists: token counts, money, limits, dates, and `—` for null.

export const DASH = "—";

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const money = new Intl.NumberFormat("en-US", { minimumFractionDigits: 4, maximumFractionDigits: 4 });
const budget = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 4 });

/** `1234567` → `1,234,567`; null → `—`. */
export function formatCount(n: number | null | undefined): string {
  return n === null || n === undefined ? DASH : integer.format(n);
}

/** A cost: always four decimals (`$0.0423`, `$1,234.5000`); null → `—`. */
export function formatCost(usd: number | null | undefined): string {
  return usd === null || usd === undefined ? DASH : `$${money.format(usd)}`;
}

/** A budget as the admin set it: `$50.00`, `$0.125`. */
export function formatBudget(usd: number | null | undefined): string {
  return usd === null || usd === undefined ? DASH : `$${budget.format(usd)}`;
}

export function formatBool(b: boolean): string {
  return b ? "yes" : "no";
}

/** `2026-11-25T12:00:00.000Z` → `2026-11-25 12:00 UTC`; seconds only when they are not zero. */
export function formatTime(iso: string | null | undefined): string {
  if (iso === null || iso === undefined) return DASH;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const s = d.toISOString();
  const seconds = s.slice(17, 19) === "00" ? "" : s.slice(16, 19);
  return `${s.slice(0, 10)} ${s.slice(11, 16)}${seconds} UTC`;
}

/** `2026-11-25T12:00:00.000Z` → `2026-11-25`. */
export function formatDate(iso: string | null | undefined): string {
  if (iso === null || iso === undefined) return DASH;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().slice(0, 10);
}

/** How far `iso` is from `now`, roughly: `in 29 days`, `3 hours ago`, `in 5 minutes`. */
export function formatRelative(iso: string, now: Date): string {
  const ms = new Date(iso).getTime() - now.getTime();
  if (Number.isNaN(ms)) return "";
  const abs = Math.abs(ms);
  const units: [number, string][] = [
    [86_400_000, "day"],
    [3_600_000, "hour"],
    [60_000, "minute"],
  ];
  let text = "less than a minute";
  for (const [size, unit] of units) {
    const n = Math.floor(abs / size);
    if (n >= 1) {
      text = `${n} ${unit}${n === 1 ? "" : "s"}`;
      break;
    }
  }
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}
