/**
 * Output helpers shared by the commands: usage errors (exit 2), progress lines that are shown only
 * on a terminal (terminal.ts), and tables, whole or streamed page by page.
 */
import { colorsFor, progressLine, progressLineDone } from './terminal.ts';

/** A usage error: the command line itself is wrong (exit code 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Report progress on stderr when it is a terminal; silent in pipes, files, CI and with --quiet. */
export function progress(message: string): void {
  progressLine(message);
}

/** End a progress line (no-op when not on a terminal). */
export function progressDone(): void {
  progressLineDone();
}

type Row = ReadonlyArray<string | number>;

/** Grow `widths` to fit `rows`. A loop, never a spread into Math.max: 160,000 rows would overflow the stack. */
function fit(widths: number[], rows: ReadonlyArray<Row>): void {
  for (const r of rows) {
    for (let i = 0; i < widths.length; i++) {
      const len = String(r[i] ?? '').length;
      if (len > widths[i]) widths[i] = len;
    }
  }
}

function line(widths: number[], r: Row): string {
  return r.map((c, i) => (i === r.length - 1 ? String(c) : String(c).padEnd(widths[i]))).join('  ');
}

/** Print rows as aligned columns. */
export function table(header: string[], rows: ReadonlyArray<Row>): string {
  const widths = header.map((h) => h.length);
  fit(widths, rows);
  const out: string[] = [line(widths, header)];
  for (const r of rows) out.push(line(widths, r));
  return out.join('\n') + '\n';
}

/**
 * A table printed as its pages arrive (kubectl's chunked listing): the header and the first page
 * set the column widths, later pages only widen them, so memory and latency stay one page deep.
 */
export class TableWriter {
  private readonly widths: number[];
  private started = false;

  constructor(
    private readonly header: string[],
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout,
  ) {
    this.widths = header.map((h) => h.length);
  }

  /** Print one page of rows. */
  write(rows: ReadonlyArray<Row>): void {
    fit(this.widths, rows);
    const lines: string[] = [];
    if (!this.started) {
      this.started = true;
      lines.push(colorsFor(this.out).bold(line(this.widths, this.header)));
    }
    for (const r of rows) lines.push(line(this.widths, r));
    if (lines.length > 0) this.out.write(lines.join('\n') + '\n');
  }

  /** Finish: an empty listing still prints its header. */
  end(): void {
    if (!this.started) this.write([]);
  }
}

/**
 * A JSON array printed as its pages arrive (`-o json` of a listing): valid JSON once ended, written
 * element by element, never built whole in memory.
 */
export class JsonArrayWriter {
  private count = 0;

  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}

  write(items: readonly unknown[]): void {
    if (items.length === 0) return;
    const parts = items.map((x) => JSON.stringify(x, null, 2).replace(/\n/g, '\n  '));
    this.out.write((this.count === 0 ? '[\n  ' : ',\n  ') + parts.join(',\n  '));
    this.count += items.length;
  }

  end(): void {
    this.out.write(this.count === 0 ? '[]\n' : '\n]\n');
  }
}
