// fit()'s console output, as Keras prints it. verbose 1 on a terminal: a
// progress bar per epoch redrawn in place (steps, ETA, running loss and
// metrics), at most every 50 ms; verbose 1 elsewhere (a pipe, a file, CI) or
// verbose 2: one plain line per epoch. verbose 0: nothing.
export type Logs = Record<string, number>;

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const fmtLogs = (logs: Logs) =>
  Object.entries(logs)
    .map(([k, v]) => ` - ${k}: ${Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(4) : v.toExponential(3)}`)
    .join('');

function fmtTime(s: number): string {
  if (s >= 3600) return `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
  if (s >= 60) return `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
  return `${Math.round(s)}s`;
}

/** Time per step as Keras prints it: milliseconds from 1 ms up, microseconds below. */
export function perStep(seconds: number, steps: number): string {
  const ms = (seconds * 1000) / Math.max(1, steps);
  return ms >= 1 ? `${Math.round(ms)}ms/step` : `${Math.round(ms * 1000)}us/step`;
}

export class Progress {
  readonly #out: ProgressStream;
  readonly #bar: boolean;
  readonly #verbose: number;
  #steps = 0;
  #start = 0;
  #last = 0;
  #epoch = '';

  constructor(verbose: number, out: ProgressStream = process.stdout) {
    this.#out = out;
    this.#verbose = verbose;
    this.#bar = verbose === 1 && out.isTTY === true;
  }

  epochBegin(epoch: number, epochs: number, steps: number): void {
    this.#steps = steps;
    this.#start = performance.now();
    this.#last = 0;
    this.#epoch = `Epoch ${epoch + 1}/${epochs}`;
    if (this.#bar) this.#out.write(`${this.#epoch}\n`);
  }

  /** After `step` of the epoch's steps (1-based) with the running logs (or a function giving them, called only to redraw). */
  batchEnd(step: number, logs: Logs | (() => Logs)): void {
    if (!this.#bar) return;
    const now = performance.now();
    if (step < this.#steps && now - this.#last < 50) return;
    if (typeof logs === 'function') logs = logs();
    this.#last = now;
    const elapsed = (now - this.#start) / 1000;
    const eta = step > 0 ? (elapsed / step) * (this.#steps - step) : 0;
    this.#draw(step, ` - ETA: ${fmtTime(eta)}${fmtLogs(logs)}`);
  }

  #draw(step: number, tail: string): void {
    const width = 30;
    const w = String(this.#steps).length;
    const done = this.#steps ? Math.floor((width * step) / this.#steps) : width;
    const bar = step >= this.#steps ? '='.repeat(width) : `${'='.repeat(Math.max(0, done - 1))}>${'.'.repeat(width - Math.max(1, done))}`;
    let line = `${String(step).padStart(w)}/${this.#steps} [${bar}]${tail}`;
    const cols = this.#out.columns ?? 0;
    if (cols > 10 && line.length >= cols) line = line.slice(0, cols - 1);
    this.#out.write(`\r${line}\x1b[K`);
  }

  /** The epoch's final logs (training and validation). */
  epochEnd(logs: Logs): void {
    if (this.#verbose === 0) return;
    const secs = (performance.now() - this.#start) / 1000;
    const timing = ` - ${fmtTime(secs)} ${perStep(secs, this.#steps)}${fmtLogs(logs)}`;
    if (this.#bar) {
      this.#draw(this.#steps, timing);
      this.#out.write('\n');
    } else {
      this.#out.write(`${this.#epoch} - ${this.#steps}/${this.#steps}${timing}\n`);
    }
  }
}
