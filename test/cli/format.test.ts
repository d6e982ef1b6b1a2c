// Cell formatting and tables: money with four decimals, counts with separators, `—` for null, and
// columns sized from the data with numbers right-aligned.

import { describe, expect, it } from "vitest";
import {
  formatBudget,
  formatCost,
  formatCount,
  formatDate,
  formatRelative,
  formatTime,
} from "../../src/cli/format.ts";
import { renderFields, renderTable } from "../../src/cli/table.ts";

describe("formatting cells", () => {
  it.each([
    [0, "0"],
    [999, "999"],
    [1234, "1,234"],
    [1234567, "1,234,567"],
    [null, "—"],
  ])("count %s → %s", (n, out) => expect(formatCount(n)).toBe(out));

  it.each([
    [0, "$0.0000"],
    [0.0423, "$0.0423"],
    [1.23456, "$1.2346"],
    [1234.5, "$1,234.5000"],
    [0.00001, "$0.0000"],
    [null, "—"],
  ])("cost %s → %s", (n, out) => expect(formatCost(n)).toBe(out));

  it.each([
    [50, "$50.00"],
    [0.125, "$0.125"],
    [1000, "$1,000.00"],
    [null, "—"],
  ])("budget %s → %s", (n, out) => expect(formatBudget(n)).toBe(out));

  it("times in UTC, seconds only when present", () => {
    expect(formatTime("2026-11-25T12:00:00.000Z")).toBe("2026-11-25 12:00 UTC");
    expect(formatTime("2026-11-25T12:00:07.250Z")).toBe("2026-11-25 12:00:07 UTC");
    expect(formatTime("2026-11-25T13:00:00+01:00")).toBe("2026-11-25 12:00 UTC");
    expect(formatTime(null)).toBe("—");
    expect(formatDate("2027-01-01T00:00:00.000Z")).toBe("2027-01-01");
  });

  it("relative times", () => {
    const now = new Date("2026-11-25T12:00:00Z");
    expect(formatRelative("2026-12-25T12:00:00Z", now)).toBe("in 30 days");
    expect(formatRelative("2026-11-25T13:00:00Z", now)).toBe("in 1 hour");
    expect(formatRelative("2026-11-25T11:55:00Z", now)).toBe("5 minutes ago");
    expect(formatRelative("2026-11-25T12:00:10Z", now)).toBe("in less than a minute");
  });
});

describe("tables", () => {
  const rows = [
    { name: "alice", n: 5, cost: "$0.0100" },
    { name: "bob-the-long-named", n: 12345, cost: "$12.5000" },
  ];
  const columns = [
    { header: "NAME", cell: (r: (typeof rows)[number]) => r.name },
    { header: "N", align: "right" as const, cell: (r: (typeof rows)[number]) => formatCount(r.n) },
    { header: "COST", align: "right" as const, cell: (r: (typeof rows)[number]) => r.cost },
  ];

  it("sizes columns from the data and right-aligns numbers", () => {
    expect(renderTable(columns, rows)).toEqual([
      "NAME                     N      COST",
      "alice                    5   $0.0100",
      "bob-the-long-named  12,345  $12.5000",
    ]);
  });

  it("puts a total under a rule, and leaves no trailing spaces", () => {
    const lines = renderTable([{ header: "K", cell: (r: { k: string }) => r.k }], [{ k: "a" }, { k: "bb" }], {
      k: "total",
    });
    expect(lines).toEqual(["K", "a", "bb", "─────", "total"]);
  });

  it("cuts cells longer than maxWidth with an ellipsis", () => {
    const lines = renderTable(
      [{ header: "NAME", maxWidth: 6, cell: (r: string) => r }],
      ["abcdefghij", "abc"],
    );
    expect(lines).toEqual(["NAME", "abcde…", "abc"]);
  });

  it("field lists pad the labels to one width", () => {
    expect(
      renderFields([
        ["id", "key_1"],
        ["budget per day", "$5.00"],
      ]),
    ).toEqual(["id              key_1", "budget per day  $5.00"]);
  });
});
