/** What commands print: JSON for machines, aligned tables for people. */

/** How a command prints: its --json and --quiet flags. */
export interface Output {
  json: boolean;
  quiet: boolean;
}

export function outputOf(flags: { json?: boolean; quiet?: boolean }): Output {
  return { json: Boolean(flags.json), quiet: Boolean(flags.quiet) };
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Columns padded to their widest cell. */
export function printTable(headers: string[], rows: (string | number)[][]): void {
  const cells = [headers, ...rows.map((row) => row.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? "").length)));
  for (const row of cells) {
    process.stdout.write(
      `${row
        .map((cell, i) => (cell ?? "").padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd()}\n`,
    );
  }
}
