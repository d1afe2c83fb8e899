/**
 * An epoch's figures as the run records them: the `metrics.jsonl` line and
 * the line logged at the epoch's end.
 *
 * @module
 */
import type { TestMetrics } from "./evaluate.ts";
import type { EpochMetrics } from "./plot.ts";
import { formatRate } from "./progress.ts";
import type { EpochSums } from "./step_stats.ts";

/** What an epoch's timing was: this process's part of it when the epoch was resumed. */
export interface EpochTiming {
  /** Samples trained on since the epoch started or resumed (every rank's). */
  samples: number;
  /** Seconds of training since then. */
  trainSeconds: number;
  /** Seconds of the whole epoch, evaluation included (and the part before a resume). */
  seconds: number;
  /** Steps since the epoch started or resumed, and the seconds they waited for batches. */
  steps: number;
  dataWaitSeconds: number;
}

/**
 * The metrics.jsonl record of epoch `epoch` (0-based) from its training sums,
 * its test metrics and its timing.
 */
export function epochMetrics(
  epoch: number,
  total: EpochSums,
  test: TestMetrics,
  timing: EpochTiming,
): EpochMetrics {
  return {
    epoch: epoch + 1,
    eta_min: total.etaMin,
    eta_mean: total.etaSum / total.steps,
    eta_max: total.etaMax,
    train_loss: total.loss / total.samples,
    train_acc: total.correct / total.samples,
    test_loss: test.loss,
    test_acc: test.acc,
    samples_per_s: timing.samples / Math.max(timing.trainSeconds, 1e-9),
    seconds: timing.seconds,
    data_wait_ms: (1000 * timing.dataWaitSeconds) / Math.max(timing.steps, 1),
  };
}

/** Appends one epoch's line to `<out>/metrics.jsonl`. */
export async function appendMetrics(out: string, metrics: EpochMetrics): Promise<void> {
  await Deno.writeTextFile(`${out}/metrics.jsonl`, JSON.stringify(metrics) + "\n", {
    append: true,
  });
}

/** The line logged at an epoch's end: η min/mean/max, train and test loss and accuracy, speed. */
export function formatEpoch(metrics: EpochMetrics): string {
  return `epoch ${metrics.epoch}: η ${metrics.eta_min.toFixed(4)}/${metrics.eta_mean.toFixed(4)}/${
    metrics.eta_max.toFixed(4)
  } (min/mean/max)  train loss ${metrics.train_loss.toFixed(4)} acc ${
    (100 * metrics.train_acc).toFixed(2)
  }%  ` +
    `test loss ${metrics.test_loss.toFixed(4)} acc ${(100 * metrics.test_acc).toFixed(2)}%  ` +
    `${formatRate(metrics.samples_per_s)} samples/s  ${metrics.seconds.toFixed(1)} s` +
    (metrics.data_wait_ms === undefined
      ? ""
      : `  data wait ${metrics.data_wait_ms.toFixed(2)} ms/step`);
}
