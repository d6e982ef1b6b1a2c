// How usage looks on a terminal: one row per key, model or day, a total under a rule, costs with a `*`
// where some requests had no price, and a note when some output counts are estimates.

import type { GroupBy, UsageReport, UsageRow, UsageTotals } from "../api.ts";
import { DASH, formatCost, formatCount, formatTime } from "../format.ts";
import { type Column, renderTable } from "../table.ts";

type Line = UsageTotals & { label: string; id?: string };

const NUMBERS: Column<Line>[] = [
  { header: "REQUESTS", align: "right", cell: (r) => formatCount(r.requests) },
  { header: "ERRORS", align: "right", cell: (r) => formatCount(r.errors) },
  { header: "INPUT", align: "right", cell: (r) => formatCount(r.input_tokens) },
  { header: "OUTPUT", align: "right", cell: (r) => formatCount(r.output_tokens) },
  { header: "CACHE WRITE", align: "right", cell: (r) => formatCount(r.cache_creation_input_tokens) },
  { header: "CACHE READ", align: "right", cell: (r) => formatCount(r.cache_read_input_tokens) },
];

function label(row: UsageRow, by: GroupBy): string {
  if (by === "model") return row.model ?? "(unknown)";
  if (by === "day") return row.day ?? DASH;
  return row.key_name ?? row.key_id ?? DASH;
}

/** The report as lines: a title, the table (or "no requests"), and a footnote for unpriced requests. */
export function usageReport(report: UsageReport, keyId?: string): string[] {
  const by = report.group_by;
  const whose = keyId === undefined ? "" : ` of key ${keyId}`;
  const title = `Usage${whose} by ${by}, ${formatTime(report.from)} to ${formatTime(report.to)}`;
  if (report.data.length === 0) return [title, "", "No requests in this period."];

  const rows: Line[] = report.data.map((r) => ({
    ...r,
    label: label(r, by),
    ...(r.key_id === undefined ? {} : { id: r.key_id }),
  }));
  const marked = report.total.unpriced_requests > 0 || rows.some((r) => r.unpriced_requests > 0);
  const cost = (r: Line) => formatCost(r.cost_usd) + (r.unpriced_requests > 0 ? "*" : marked ? " " : "");

  const first: Column<Line>[] = [{ header: by.toUpperCase(), maxWidth: 32, cell: (r) => r.label }];
  // Two keys may share a name: then the ids tell them apart.
  const names = rows.map((r) => r.label);
  if (by === "key" && new Set(names).size < names.length)
    first.push({ header: "ID", cell: (r) => r.id ?? "" });
  const columns = [...first, ...NUMBERS, { header: "COST", align: "right" as const, cell: cost }];

  const total: Line = { ...report.total, label: "total" };
  const lines = [title, "", ...renderTable(columns, rows, total)];
  if (marked) {
    const n = report.total.unpriced_requests;
    lines.push(
      "",
      `* ${formatCount(n)} request${n === 1 ? "" : "s"} to models without a price: counted, but not in the cost.`,
    );
  }
  const estimated = report.total.estimated_requests ?? 0;
  if (estimated > 0) {
    lines.push(
      ...(marked ? [] : [""]),
      `${formatCount(estimated)} request${estimated === 1 ? "" : "s"} ended before the upstream reported usage: output estimated from what was streamed.`,
    );
  }
  return lines;
}
