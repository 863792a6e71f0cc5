/**
 * Where a command's results go: aligned tables for people, or one JSON
 * document for scripts (`--json`). Progress always goes to stderr, so it
 * never mixes with results a script parses.
 */
export class Output {
  constructor(
    readonly json: boolean,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
    private readonly stderr: NodeJS.WritableStream = process.stderr,
  ) {}

  /** The command's result: `render` for people, `data` as-is for JSON. */
  result(data: unknown, render: () => string): void {
    this.stdout.write(this.json ? `${JSON.stringify(data, bigintAsString, 2)}\n` : `${render()}\n`);
  }

  progress(message: string): void {
    if (!this.json) this.stderr.write(`${message}\n`);
  }
}

function bigintAsString(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/** Renders rows as a left-aligned text table under a header. */
export function table(columns: string[], rows: (string | number | undefined)[][]): string {
  const cells = [columns, ...rows.map((row) => row.map((cell) => (cell === undefined ? '-' : String(cell))))];
  const widths = columns.map((_, index) => Math.max(...cells.map((row) => (row[index] ?? '').length)));
  return cells.map((row) => row.map((cell, index) => (cell ?? '').padEnd(widths[index]!)).join('  ').trimEnd()).join('\n');
}
