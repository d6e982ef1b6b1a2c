// Reading the times people type: `--expires` (ISO 8601, a date, or `30d`/`12h`/`2w`/`90m` from now) and
// `--from`/`--to` (a date, passed on as typed, or ISO 8601, passed on in UTC).

import { UsageError } from "./errors.ts";

const DATE = /^\d{4}-\d{2}-\d{2}$/;
/** A date, a time and a zone (`Z` or `±hh:mm`): the API refuses a time without a zone. */
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;
const DURATION = /^(\d+)\s*(m|h|d|w)$/i;

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

function isUnit(u: string): u is keyof typeof UNIT_MS {
  return u in UNIT_MS;
}

/** A real calendar date and a parseable instant (rejects `2026-02-30`, which Date would roll over). */
function validDate(s: string): boolean {
  const day = s.slice(0, 10);
  const t = Date.parse(`${day}T00:00:00Z`);
  if (Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== day) return false;
  return DATE.test(s) || !Number.isNaN(Date.parse(s));
}

/** `--expires`: an ISO 8601 instant (UTC out), a date (midnight UTC), or a duration from `now`. */
export function parseExpires(value: string, now: Date, command: string): string {
  const v = value.trim();
  const d = DURATION.exec(v);
  if (d) {
    const n = Number(d[1]);
    const unit = (d[2] ?? "").toLowerCase();
    if (!isUnit(unit) || n <= 0)
      throw new UsageError(`--expires: a duration must be more than zero`, command);
    return new Date(now.getTime() + n * UNIT_MS[unit]).toISOString();
  }
  if (DATE.test(v) && validDate(v)) return `${v}T00:00:00.000Z`;
  if (DATETIME.test(v) && validDate(v)) return new Date(v).toISOString();
  throw new UsageError(
    `--expires: expected an ISO 8601 time with a zone (2027-01-01T00:00:00Z), a date (2027-01-01) ` +
      `or a duration from now (90m, 12h, 30d, 2w); got "${value}"`,
    command,
  );
}

/** `--from`/`--to`: `YYYY-MM-DD` (sent as typed) or an ISO 8601 instant (sent in UTC). */
export function parseRangeBound(flag: string, value: string, command: string): string {
  const v = value.trim();
  if (DATE.test(v) && validDate(v)) return v;
  if (DATETIME.test(v) && validDate(v)) return new Date(v).toISOString();
  throw new UsageError(
    `${flag}: expected a date (2026-11-01) or an ISO 8601 time with a zone (2026-11-01T00:00:00Z); got "${value}"`,
    command,
  );
}
