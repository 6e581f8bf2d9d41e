// Console progress of `cudagrad train gpt`. verbose 1 on a terminal: one bar
// redrawn in place (step, loss, tokens/s, elapsed, ETA, last validation loss);
// verbose 1 elsewhere: a line at each validation; verbose 2: a line per readout.
export function fmtTime(s: number): string {
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = String(t % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

export class Progress {
  readonly #tty: boolean;
  #t0 = performance.now();
  #line = '';
  #val = '';
  #loss = NaN;
  #rate = 0;

  constructor(
    private readonly verbose: number,
    private readonly steps: number,
    private readonly start: number,
    private readonly out: { write(s: string): unknown; isTTY?: boolean; columns?: number } = process.stdout,
  ) {
    this.#tty = verbose === 1 && out.isTTY === true;
  }

  #render(step: number): string {
    const elapsed = (performance.now() - this.#t0) / 1000;
    const eta = step > this.start ? (elapsed / (step - this.start)) * (this.steps - step) : 0;
    const width = 24;
    const done = Math.floor((width * step) / this.steps);
    const bar = step >= this.steps ? '='.repeat(width) : '='.repeat(Math.max(0, done - 1)) + '>' + '.'.repeat(width - Math.max(1, done));
    const w = String(this.steps).length;
    const rate = this.#rate >= 1000 ? `${(this.#rate / 1000).toFixed(1)}k` : this.#rate.toFixed(0);
    return `step ${String(step).padStart(w)}/${this.steps} [${bar}] loss ${this.#loss.toFixed(4)} | ${rate} tok/s | ${fmtTime(elapsed)} < ${fmtTime(eta)}${this.#val}`;
  }

  /** After step `step` (1-based) with the last training loss and the tokens/s so far. */
  update(step: number, loss: number, rate: number): void {
    this.#loss = loss;
    this.#rate = rate;
    if (this.#tty) {
      let line = this.#render(step);
      const cols = this.out.columns ?? 0;
      if (cols > 10 && line.length >= cols) line = line.slice(0, cols - 1);
      this.#line = line;
      this.out.write(`\r${line}\x1b[K`);
    } else if (this.verbose === 2) this.out.write(this.#render(step) + '\n');
  }

  /** A periodic validation loss. */
  val(step: number, loss: number): void {
    this.#val = ` | val ${loss.toFixed(4)} @ ${step}`;
    if (this.#tty) this.out.write(`\r${this.#line}${this.#val}\x1b[K`);
    else if (this.verbose === 2) this.out.write(`step ${step}: val ${loss.toFixed(4)}\n`); // its readout line is already out
    else if (this.verbose) this.out.write(this.#render(step) + '\n');
  }

  end(): void {
    if (this.#tty) this.out.write('\n');
  }
}
