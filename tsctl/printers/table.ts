// Column layout of kubectl's tabwriter (minwidth 6, padding 3, widths
// remembered): every column but the last is padded to its widest cell plus 3
// spaces. Widths only grow, so rows printed later by `get -w` line up with
// the header printed first.

const MIN_WIDTH = 6;
const PADDING = 3;

export interface TableLayout {
  /** Smallest column width, padding included; kubectl get: 6, describe: 0. */
  readonly minWidth: number;
  /** Spaces after the widest cell; kubectl get: 3, describe: 2. */
  readonly padding: number;
}

export const GET_LAYOUT: TableLayout = { minWidth: MIN_WIDTH, padding: PADDING };
export const DESCRIBE_LAYOUT: TableLayout = { minWidth: 0, padding: 2 };

export class TableWriter {
  private widths: number[] = [];

  constructor(private readonly layout: TableLayout = GET_LAYOUT) {}

  /** Lays out rows (header included) and remembers the widths; returns lines without newlines. */
  format(rows: readonly (readonly string[])[]): string[] {
    for (const row of rows) {
      row.forEach((cell, i) => {
        const w = Math.max(this.layout.minWidth, cell.length + this.layout.padding);
        if (i < row.length - 1 && w > (this.widths[i] ?? 0)) this.widths[i] = w;
      });
    }
    return rows.map((row) => row.map((cell, i) => (i < row.length - 1 ? cell.padEnd(this.widths[i] ?? 0) : cell)).join(''));
  }
}

/** One table as text, each line ending in a newline. */
export function formatTable(rows: readonly (readonly string[])[], layout: TableLayout = GET_LAYOUT): string {
  return new TableWriter(layout)
    .format(rows)
    .map((l) => `${l}\n`)
    .join('');
}
