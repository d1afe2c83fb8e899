/**
 * Progress while training: a one-line bar redrawn in place on a terminal
 * (steps/s, samples/s, ETA, running loss, η), plain log lines otherwise.
 *
 * @module
 */

/** Values shown for the current step. */
export interface ProgressValues {
  /** Running mean loss of the epoch so far (NaN while unknown). */
  loss: number;
  /** Last known η (or learning rate). */
  eta: number;
}

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, "0");
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

/** Draws per-epoch progress to stdout. */
export class Progress {
  readonly #tty: boolean;
  readonly #encoder = new TextEncoder();
  #label = "";
  #total = 0;
  #batch = 0;
  #start = 0;
  #lastLine = 0;

  /** @param tty redraw in place (default: whether stdout is a terminal) */
  constructor(tty = Deno.stdout.isTerminal()) {
    this.#tty = tty;
  }

  /** Starts an epoch of `total` steps of `batch` samples. */
  start(label: string, total: number, batch: number): void {
    this.#label = label;
    this.#total = total;
    this.#batch = batch;
    this.#start = performance.now();
    this.#lastLine = this.#start;
  }

  /** Reports that `done` steps have finished. */
  update(done: number, values: ProgressValues): void {
    const now = performance.now();
    const elapsed = (now - this.#start) / 1000;
    const rate = done / Math.max(elapsed, 1e-9);
    const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : "…");
    const stats = `${rate.toFixed(1)} steps/s ${Math.round(rate * this.#batch)} samples/s ETA ${
      clock((this.#total - done) / rate)
    } loss ${fmt(values.loss)} η ${fmt(values.eta)}`;
    if (this.#tty) {
      const width = 24;
      const filled = Math.round((done / Math.max(this.#total, 1)) * width);
      const bar = "█".repeat(filled) + "░".repeat(width - filled);
      this.#write(`\r\x1b[2K${this.#label} ${bar} ${done}/${this.#total} ${stats}`);
    } else if (now - this.#lastLine > 5_000 || done === 1 || done === this.#total) {
      this.#lastLine = now;
      this.#write(`${this.#label} ${done}/${this.#total} ${stats}\n`);
    }
  }

  /** Ends the epoch's bar (a newline on a terminal). */
  end(): void {
    if (this.#tty) this.#write("\n");
  }

  /** Prints a line (clearing the bar on a terminal). */
  log(line: string): void {
    this.#write(this.#tty ? `\r\x1b[2K${line}\n` : `${line}\n`);
  }

  #write(text: string): void {
    Deno.stdout.writeSync(this.#encoder.encode(text));
  }
}
