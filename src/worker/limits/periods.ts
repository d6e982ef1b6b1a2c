// The UTC periods budgets are counted in: a day ("2026-11-25") and a calendar month ("2026-11"),
// and when each one resets.

export const MINUTE_MS = 60_000;

export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
export const utcMonth = (ms: number): string => new Date(ms).toISOString().slice(0, 7);

/** Midnight UTC after `ms`. */
export function nextDay(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
}

/** The first of the next month, midnight UTC. */
export function nextMonth(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}
