/**
 * What the CLI shows only to a person at a terminal: progress on stderr (cli-progress) and colour
 * (picocolors). Both are decided here, once, from the stream and the environment, so a pipe, a file,
 * CI, `--quiet`, NO_COLOR and TERM=dumb all get plain text with no escape codes.
 */
import cliProgress from 'cli-progress';
import pc from 'picocolors';

/** The parts of a stream the decisions look at. */
export interface StreamLike {
  isTTY?: boolean;
}

/** Progress is drawn on a terminal only, and never with --quiet or TERM=dumb. */
export function progressEnabled(stream: StreamLike, quiet: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && !quiet && env.TERM !== 'dumb';
}

/**
 * Colour on a terminal only, honouring NO_COLOR (https://no-color.org: present and not empty turns
 * it off) and TERM=dumb. Not picocolors' own guess: it looks at stdout and turns colour on under CI
 * even in a pipe.
 */
export function colorEnabled(stream: StreamLike, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

/** Colours for one stream (identity functions when colour is off). */
export function colorsFor(stream: StreamLike, env: NodeJS.ProcessEnv = process.env): ReturnType<typeof pc.createColors> {
  return pc.createColors(colorEnabled(stream, env));
}

let quiet = false;

/** `--quiet` (set once the command line is parsed): no progress at all. */
export function setQuiet(q: boolean): void {
  quiet = q;
}

/** A unit for a progress bar: events, records, bytes. */
export type ProgressUnit = 'events' | 'records' | 'bytes';

const MiB = 1024 * 1024;

function formatAmount(n: number, unit: ProgressUnit): string {
  if (unit === 'bytes') return n >= MiB ? `${(n / MiB).toFixed(1)} MiB` : `${Math.round(n / 1024)} KiB`;
  return n.toLocaleString('en-US');
}

/**
 * One piece of long work shown on stderr: a bar when its total is known, a line of text when not.
 * Every method is a no-op when progress is off, so callers never test for a terminal themselves.
 */
export class Progress {
  private bar?: cliProgress.SingleBar;
  private total = 0;

  constructor(
    private readonly label: string,
    private readonly unit: ProgressUnit = 'events',
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  private get on(): boolean {
    return progressEnabled(this.stream, quiet);
  }

  private ensure(total: number): cliProgress.SingleBar | undefined {
    if (!this.on) return undefined;
    const c = colorsFor(this.stream);
    if (!this.bar || (total > 0) !== (this.total > 0)) {
      this.bar?.stop();
      this.total = total;
      const format = total > 0 ? `${c.cyan('{label}')} [{bar}] {percentage}% | {amount}/{all}` : `${c.cyan('{label}')} {amount}`;
      this.bar = new cliProgress.SingleBar({ stream: this.stream, format, hideCursor: true, clearOnComplete: true, linewrap: false, barsize: 30, fps: 10 }, cliProgress.Presets.shades_classic);
      this.bar.start(Math.max(total, 1), 0, { label: this.label, amount: '', all: formatAmount(total, this.unit) });
    }
    return this.bar;
  }

  /** `done` units of `total` (0: unknown) are done. */
  update(done: number, total = 0): void {
    const bar = this.ensure(total);
    if (!bar) return;
    if (total > 0 && total !== this.total) {
      this.total = total;
      bar.setTotal(total);
    }
    bar.update(total > 0 ? Math.min(done, total) : 0, { label: this.label, amount: formatAmount(done, this.unit), all: formatAmount(this.total, this.unit) });
  }

  /** A step of work with no amount ("checkpoint and VACUUM INTO…"). */
  step(text: string): void {
    const bar = this.ensure(0);
    bar?.update(0, { label: this.label, amount: text, all: '' });
  }

  /** Clear the line (progress never stays on screen: results go to stdout, and stderr keeps only what matters). */
  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
    this.total = 0;
  }
}

let current: Progress | undefined;

/**
 * A message-only progress line (the callbacks of replay and verify pass text like "replayed 50000
 * events…"): shown as a status line on a terminal, nothing elsewhere.
 */
export function progressLine(message: string): void {
  current ??= new Progress('mcns');
  current.step(message);
}

/** End the message-only progress line. */
export function progressLineDone(): void {
  current?.stop();
  current = undefined;
}
