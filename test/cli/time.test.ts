// `--expires` and `--from`/`--to`: durations from now, dates at midnight UTC, instants in UTC, and a
// usage error (not a silent rollover) for anything else.

import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/cli/errors.ts";
import { parseExpires, parseRangeBound } from "../../src/cli/time.ts";

const now = new Date("2026-11-25T12:00:00.000Z");
const expires = (v: string) => parseExpires(v, now, "keys create");

describe("--expires", () => {
  it.each([
    ["30d", "2026-12-25T12:00:00.000Z"],
    ["12h", "2026-11-26T00:00:00.000Z"],
    ["90m", "2026-11-25T13:30:00.000Z"],
    ["2w", "2026-12-09T12:00:00.000Z"],
    ["2027-01-01", "2027-01-01T00:00:00.000Z"],
    ["2027-01-01T00:00:00Z", "2027-01-01T00:00:00.000Z"],
    ["2027-01-01T02:00:00+02:00", "2027-01-01T00:00:00.000Z"],
    ["2027-01-01T00:00Z", "2027-01-01T00:00:00.000Z"],
  ])("%s → %s", (v, out) => expect(expires(v)).toBe(out));

  it.each(["0d", "30", "30y", "tomorrow", "2027-01-01T00:00:00", "2026-02-30", "2026-02-30T00:00:00Z", ""])(
    "refuses %j",
    (v) => expect(() => expires(v)).toThrow(UsageError),
  );
});

describe("--from / --to", () => {
  it("passes dates on as typed and instants in UTC", () => {
    expect(parseRangeBound("--from", "2026-11-01", "usage")).toBe("2026-11-01");
    expect(parseRangeBound("--to", "2026-11-25T13:00:00+01:00", "usage")).toBe("2026-11-25T12:00:00.000Z");
  });

  it.each(["11/01/2026", "2026-13-01", "yesterday", "2026-11-01T00:00:00"])("refuses %j", (v) =>
    expect(() => parseRangeBound("--from", v, "usage")).toThrow(UsageError),
  );
});
