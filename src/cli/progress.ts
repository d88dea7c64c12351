// A progress display on stderr for long CLI jobs (`distil prepare`, training). On a terminal it is
// one line redrawn in place at most `redrawMs` apart; when stderr is a file or a pipe (CI logs) it
// prints a plain line every `logEveryMs` instead, so logs stay readable. The rate and the ETA come
// from the last RATE_WINDOW_MS of updates (as tqdm smooths its rate), so a pause, an evaluation or
// a slow first step does not skew them for the rest of the run.

export interface ProgressOptions {
  /** Amount at completion (bytes, steps, ...); 0 or undefined when unknown (no percentage or ETA). */
  total?: number;
  /** Unit of `done`: 'B' shows MB and MB/s; anything else is shown as is ("steps", "seq"). */
  unit?: string;
  /** Prefix of the line. */
  label?: string;
  /** Where to draw (default process.stderr); its `isTTY` picks the mode. */
  stream?: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  /** Minimum time between terminal redraws (default 100 ms). */
  redrawMs?: number;
  /** Time between lines when not on a terminal (default 5 s). */
  logEveryMs?: number;
  /** Clock in ms (tests). */
  now?: () => number;
  /** Amount already done when the bar starts (the steps of a resumed run), left out of the rate. */
  initial?: number;
}

const BAR = 24;
/** Window of the smoothed rate. */
export const RATE_WINDOW_MS = 30_000;

/**
 * Rate of a cumulative amount over the last `windowMs`: samples (time, amount) are kept about
 * windowMs / 64 apart (the newest always), and the rate is the change since the oldest sample in
 * the window.
 */
export class RateWindow {
  private samples: Array<[number, number]> = [];
  constructor(private readonly windowMs = RATE_WINDOW_MS) {}

  add(t: number, amount: number): void {
    const s = this.samples;
    s.push([t, amount]);
    // The sample before the newest goes when it sits too close to its own predecessor.
    if (s.length >= 3 && s[s.length - 2]![0] - s[s.length - 3]![0] < this.windowMs / 64) s.splice(s.length - 2, 1);
    // Keep one sample at or before the window's start, so the rate spans the whole window.
    while (s.length > 2 && s[1]![0] <= t - this.windowMs) s.shift();
  }

  /** Units per second over the window (0 until two samples 0.5 s apart exist). */
  rate(): number {
    const first = this.samples[0], last = this.samples.at(-1);
    if (!first || !last || last[0] - first[0] < 500) return 0;
    return ((last[1] - first[1]) * 1000) / (last[0] - first[0]);
  }
}

/** Seconds as "1h02m", "3m05s" or "12s". */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  const t = Math.round(s);
  const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), sec = t % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}

export class Progress {
  private readonly total: number;
  private readonly unit: string;
  private readonly label: string;
  private readonly stream: NonNullable<ProgressOptions['stream']>;
  private readonly tty: boolean;
  private readonly redrawMs: number;
  private readonly logEveryMs: number;
  private readonly now: () => number;
  private readonly start: number;
  private readonly initial: number;
  private last = -Infinity;
  private lastDone = 0;
  private lastExtra: string | undefined;
  private finished = false;
  private readonly window: RateWindow;

  constructor(o: ProgressOptions = {}) {
    this.total = o.total ?? 0;
    this.unit = o.unit ?? '';
    this.label = o.label ?? '';
    this.stream = o.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
    this.redrawMs = o.redrawMs ?? 100;
    this.logEveryMs = o.logEveryMs ?? 5000;
    this.now = o.now ?? (() => performance.now());
    this.start = this.now();
    this.initial = o.initial ?? 0;
    this.window = new RateWindow();
    this.window.add(this.start, this.initial);
  }

  /**
   * Print a line of its own (an epoch's metrics) above the bar: on a terminal the bar is cleared,
   * the line printed and the bar drawn again; elsewhere the line is just printed.
   */
  note(line: string): void {
    if (this.tty) {
      this.stream.write(`\r\x1b[2K${line}\n`);
      if (!this.finished && Number.isFinite(this.last)) this.draw(this.line(this.lastDone, this.lastExtra, this.now()));
    } else this.stream.write(`${line}\n`);
  }

  /** Report `done` units so far (cumulative) and optional extra text such as "1,234 seq". */
  update(done: number, extra?: string): void {
    if (this.finished) return;
    this.lastDone = done;
    this.lastExtra = extra;
    const t = this.now();
    this.window.add(t, done);
    if (t - this.last < (this.tty ? this.redrawMs : this.logEveryMs)) return;
    this.last = t;
    this.draw(this.line(done, extra, t));
  }

  /** Print the final state (always, whatever the throttle) and end the display; defaults to the last update's values. */
  done(doneAmount = this.lastDone, extra = this.lastExtra): void {
    if (this.finished) return;
    this.finished = true;
    const line = this.line(doneAmount, extra, this.now());
    this.stream.write(this.tty ? `\r\x1b[2K${line}\n` : `${line}\n`);
  }

  private draw(line: string): void {
    if (this.tty) {
      const cols = this.stream.columns ?? 0;
      this.stream.write(`\r\x1b[2K${cols > 0 ? line.slice(0, cols - 1) : line}`);
    } else this.stream.write(`${line}\n`);
  }

  private amount(x: number): string {
    return this.unit === 'B' ? `${(x / 1e6).toFixed(1)} MB` : `${Math.round(x).toLocaleString('en-US')}${this.unit ? ` ${this.unit}` : ''}`;
  }

  private line(done: number, extra: string | undefined, t: number): string {
    const secs = (t - this.start) / 1000;
    // The rate over the last window: amounts done before this bar started (a resumed run) are not
    // part of it; nor is the first half second, when one batch would read as an absurd rate.
    const rate = this.window.rate();
    const parts: string[] = [];
    if (this.label) parts.push(this.label);
    if (this.total > 0) {
      const f = Math.min(1, Math.max(0, done / this.total));
      const fill = Math.round(f * BAR);
      if (this.tty) parts.push(`[${'#'.repeat(fill)}${'.'.repeat(BAR - fill)}]`);
      parts.push(`${(f * 100).toFixed(1).padStart(5)}%`, `${this.amount(done)} / ${this.amount(this.total)}`);
    } else parts.push(this.amount(done));
    parts.push(this.unit === 'B' ? `${(rate / 1e6).toFixed(1)} MB/s` : `${rate.toFixed(1)} ${this.unit || 'it'}/s`);
    if (extra) parts.push(extra);
    if (this.total > 0 && rate > 0) parts.push(`ETA ${formatDuration((this.total - done) / rate)}`);
    parts.push(`${formatDuration(secs)} elapsed`);
    return parts.join('  ');
  }
}
