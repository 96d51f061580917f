/**
 * Output helpers shared by the commands: usage errors (exit 2), failures (exit 1), and progress
 * lines that are shown only on a terminal.
 */

/** A usage error: the command line itself is wrong (exit code 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Report progress on stderr when it is a terminal; silent in pipes, files and CI. */
export function progress(message: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${message}`);
}

/** End a progress line (no-op when not on a terminal). */
export function progressDone(): void {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
}

/**
 * Print rows as aligned columns. Widths are found with a loop, never by spreading the rows into
 * Math.max: a 160,000-record zone would overflow the call stack.
 */
export function table(header: string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const widths = header.map((h) => h.length);
  for (const r of rows) {
    for (let i = 0; i < widths.length; i++) {
      const len = String(r[i] ?? '').length;
      if (len > widths[i]) widths[i] = len;
    }
  }
  const line = (r: ReadonlyArray<string | number>): string => r.map((c, i) => (i === r.length - 1 ? String(c) : String(c).padEnd(widths[i]))).join('  ');
  const out: string[] = [line(header)];
  for (const r of rows) out.push(line(r));
  return out.join('\n') + '\n';
}
