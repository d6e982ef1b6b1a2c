// Aligned plain-text tables: column widths from the data, numbers right-aligned, two spaces between
// columns, no padding after the last column, an optional total row under a rule.

export type Align = "left" | "right";

export interface Column<Row> {
  header: string;
  align?: Align;
  /** Cells longer than this are cut with `…`. */
  maxWidth?: number;
  cell: (row: Row) => string;
}

const GAP = "  ";

/** Display width of a cell: code points, which is right for the Latin text and symbols the CLI prints. */
export function width(s: string): number {
  return [...s].length;
}

function cut(s: string, max: number | undefined): string {
  if (max === undefined || width(s) <= max) return s;
  return `${[...s].slice(0, Math.max(1, max - 1)).join("")}…`;
}

function pad(s: string, w: number, align: Align): string {
  const fill = " ".repeat(Math.max(0, w - width(s)));
  return align === "right" ? fill + s : s + fill;
}

/** The rows of a table as lines of text (header first). `total`, if given, follows a rule. */
export function renderTable<Row>(columns: Column<Row>[], rows: Row[], total?: Row): string[] {
  const body = rows.map((row) => columns.map((c) => cut(c.cell(row), c.maxWidth)));
  const totalCells = total === undefined ? undefined : columns.map((c) => cut(c.cell(total), c.maxWidth));
  const all = totalCells === undefined ? body : [...body, totalCells];
  const widths = columns.map((c, i) =>
    Math.max(width(c.header), ...all.map((cells) => width(cells[i] ?? ""))),
  );
  const last = columns.length - 1;
  // A left-aligned last column is not padded (no trailing spaces); a right-aligned one keeps what its
  // cells end with (the space that lines a cost up with the `*` of its neighbours).
  const line = (cells: string[]) =>
    cells
      .map((s, i) => {
        const align = columns[i]?.align ?? "left";
        return i === last && align === "left" ? s : pad(s, widths[i] ?? 0, align);
      })
      .join(GAP);
  const out = [line(columns.map((c) => c.header)), ...body.map(line)];
  if (totalCells !== undefined) {
    out.push(widths.map((w) => "─".repeat(w)).join(GAP));
    out.push(line(totalCells));
  }
  return out;
}

/** `label  value` pairs with the labels padded to one width, for a single record. */
export function renderFields(fields: [string, string][]): string[] {
  const w = Math.max(0, ...fields.map(([label]) => width(label)));
  return fields.map(([label, value]) => `${label.padEnd(w)}  ${value}`.trimEnd());
}
