/**
 * Per-epoch training statistics kept on the GPU: the loss sum, the count of
 * correct predictions and η's sum, minimum and maximum. A step adds to them
 * with a few tiny dispatches and no host synchronisation; {@link StepStats.read}
 * packs them into one vector and reads it back with a single transfer.
 * {@link EpochSums} are the same figures on the host, added up over the parts
 * of an epoch interrupted and resumed.
 *
 * @module
 */
import { add, keep, mul, relu, sub, type Tensor, tensor, tidy } from "@agd/tensor";

/** The statistics as numbers. */
export interface StatValues {
  /** Sum over samples of the per-sample loss. */
  loss: number;
  /** Correct predictions. */
  correct: number;
  /** Sum of η over steps. */
  etaSum: number;
  /** Smallest η (Infinity before the first step). */
  etaMin: number;
  /** Largest η (-Infinity before the first step). */
  etaMax: number;
}

const FIELDS = ["loss", "correct", "etaSum", "etaMin", "etaMax"] as const;

/** GPU accumulators of one epoch's training statistics. */
export class StepStats {
  #values: Tensor[] | undefined;
  #basis: Tensor[] | undefined;

  /**
   * Adds one step: `lossSum` (the batch's loss × its size), `correct` and `eta`,
   * all GPU scalars the caller still owns.
   */
  add(lossSum: Tensor, correct: Tensor, eta: Tensor): void {
    const old = this.#values;
    this.#values = tidy(() => {
      if (!old) return [lossSum, correct, eta, eta, eta].map((t) => add(t, 0));
      const [l, c, s, lo, hi] = old;
      // min(a, b) = a − relu(a − b) and max(a, b) = a + relu(b − a): no select op needed.
      return [
        add(l, lossSum),
        add(c, correct),
        add(s, eta),
        sub(lo, relu(sub(lo, eta))),
        add(
          hi,
          relu(sub(eta, hi)),
        ),
      ];
    }).map(keep);
    old?.forEach((t) => t.dispose());
  }

  /** Reads the statistics with one GPU→CPU transfer. */
  async read(): Promise<StatValues> {
    if (!this.#values) {
      return { loss: 0, correct: 0, etaSum: 0, etaMin: Infinity, etaMax: -Infinity };
    }
    const basis = this.#basis ??= FIELDS.map((_, i) =>
      keep(tensor(Float32Array.from(FIELDS, (_, j) => (i === j ? 1 : 0))))
    );
    const values = this.#values;
    const packed = tidy(() => values.map((v, i) => mul(basis[i], v)).reduce((a, b) => add(a, b)));
    const data = await packed.data();
    packed.dispose();
    return Object.fromEntries(FIELDS.map((f, i) => [f, data[i]])) as unknown as StatValues;
  }

  /** Releases the GPU buffers. */
  dispose(): void {
    this.#values?.forEach((t) => t.dispose());
    this.#basis?.forEach((t) => t.dispose());
    this.#values = this.#basis = undefined;
  }
}

/**
 * An epoch's statistics so far, with its samples, steps and seconds: what an
 * interrupted epoch's checkpoint keeps so that the resumed epoch ends with
 * the same figures as an uninterrupted one.
 */
export interface EpochSums extends StatValues {
  /** Samples trained on. */
  samples: number;
  /** Steps taken. */
  steps: number;
  /** Seconds spent. */
  seconds: number;
}

/** The sums of an epoch before its first step. */
export const NO_SUMS: EpochSums = {
  loss: 0,
  correct: 0,
  etaSum: 0,
  etaMin: Infinity,
  etaMax: -Infinity,
  samples: 0,
  steps: 0,
  seconds: 0,
};

/**
 * Adds statistics read from the GPU (and their samples and steps) to the sums
 * of the epoch's earlier part; `seconds` stays that of `before`.
 */
export function combine(
  before: EpochSums,
  now: StatValues,
  samples: number,
  steps: number,
): EpochSums {
  return {
    loss: before.loss + now.loss,
    correct: before.correct + now.correct,
    etaSum: before.etaSum + now.etaSum,
    etaMin: Math.min(before.etaMin, now.etaMin),
    etaMax: Math.max(before.etaMax, now.etaMax),
    samples: before.samples + samples,
    steps: before.steps + steps,
    seconds: before.seconds,
  };
}
