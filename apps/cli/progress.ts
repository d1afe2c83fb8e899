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
  /**
   * Mean milliseconds per step the loop waited for its batch (the input
   * pipeline's share of the step: near 0 when the loader keeps ahead).
   */
  dataWaitMs?: number;
}

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, "0");
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

/** Milliseconds with the digits that carry information (0.04, 1.3, 27). */
function formatMs(ms: number): string {
  return ms >= 10 ? ms.toFixed(0) : ms >= 1 ? ms.toFixed(1) : ms.toFixed(2);
}

/**
 * A rate with the digits that carry information: whole numbers from 10 up,
 * one decimal from 1 to 10, two significant digits below (ResNet-50 on a
 * software adapter runs at 0.35 samples/s, which must not read "0").
 */
export function formatRate(v: number): string {
  if (!Number.isFinite(v)) return "…";
  if (v >= 10) return Math.round(v).toLocaleString("en-US");
  if (v >= 1) return v.toFixed(1);
  return v.toPrecision(2);
}

/** Draws per-epoch progress to stdout. */
export class Progress {
  readonly #tty: boolean;
  readonly #encoder = new TextEncoder();
  #label = "";
  #total = 0;
  #batch = 0;
  #first = 0;
  #start = 0;
  #lastLine = 0;
  #printedValues = false;
  #lastDone = -1;

  /** @param tty redraw in place (default: whether stdout is a terminal) */
  constructor(tty = Deno.stdout.isTerminal()) {
    this.#tty = tty;
  }

  /**
   * Starts an epoch of `total` steps of `batch` samples; a resumed epoch
   * starts at step `first` (rates count only the steps run here).
   */
  start(label: string, total: number, batch: number, first = 0): void {
    this.#label = label;
    this.#total = total;
    this.#batch = batch;
    this.#first = first;
    this.#start = performance.now();
    this.#lastLine = this.#start;
    this.#printedValues = false;
    this.#lastDone = -1;
  }

  /** Reports that `done` steps have finished; call it again when new values have been read. */
  update(done: number, values: ProgressValues): void {
    const now = performance.now();
    const elapsed = (now - this.#start) / 1000;
    const rate = (done - this.#first) / Math.max(elapsed, 1e-9);
    const known = Number.isFinite(values.loss) && Number.isFinite(values.eta);
    const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : "…");
    const stats = `${formatRate(rate)} steps/s ${formatRate(rate * this.#batch)} samples/s ETA ${
      clock((this.#total - done) / rate)
    } loss ${fmt(values.loss)} η ${fmt(values.eta)}${
      values.dataWaitMs === undefined ? "" : ` data wait ${formatMs(values.dataWaitMs)} ms/step`
    }`;
    if (this.#tty) {
      const width = 24;
      const filled = Math.round((done / Math.max(this.#total, 1)) * width);
      const bar = "█".repeat(filled) + "░".repeat(width - filled);
      this.#write(`\r\x1b[2K${this.#label} ${bar} ${done}/${this.#total} ${stats}`);
    } else if (
      now - this.#lastLine > 5_000 || (known && !this.#printedValues) ||
      (done === this.#total && this.#lastDone !== done)
    ) {
      // A log gets its first line as soon as the first values are known, then one per 5 s.
      this.#lastLine = now;
      this.#printedValues ||= known;
      this.#lastDone = done;
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
