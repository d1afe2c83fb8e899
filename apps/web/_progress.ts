/**
 * What the trainer reports to the page and how it computes it: the curves'
 * points from the GPU statistics read every few steps (figures since the
 * previous read, throughput and time left with evaluations excluded), the
 * test evaluations and the epochs' records.
 *
 * @module
 */
import type { EpochMetrics } from "@agd/cli/plot";
import type { StatValues } from "@agd/cli/step_stats";

/** One read of the running statistics: the curves' points. */
export interface ProgressPoint {
  /** Epoch (0-based). */
  epoch: number;
  /** Steps done in the epoch. */
  step: number;
  /** Steps per epoch. */
  stepsPerEpoch: number;
  /** Steps done since training began. */
  globalStep: number;
  /** Mean loss per sample since the previous point. */
  loss: number;
  /** Training accuracy since the previous point (the batches' predictions before their step). */
  acc: number;
  /** Mean η since the previous point. */
  eta: number;
  /** Mean loss per sample of the epoch so far. */
  epochLoss: number;
  /** Training accuracy of the epoch so far. */
  epochAcc: number;
  /** Training samples per second since training began (evaluations excluded). */
  samplesPerSecond: number;
  /** Seconds until the last epoch ends at the current rate (evaluations excluded). */
  etaSeconds: number;
}

/** A test-set evaluation. */
export interface TestPoint {
  /** Epoch (0-based) during which it ran. */
  epoch: number;
  /** Steps done since training began. */
  globalStep: number;
  /** Steps per epoch. */
  stepsPerEpoch: number;
  /** Mean loss per sample. */
  loss: number;
  /** Accuracy. */
  acc: number;
}

/** An epoch's figures: the same record as apps/cli's metrics.jsonl line. */
export type EpochRecord = EpochMetrics;

/** Where the trainer reports; every callback is optional. */
export interface TrainCallbacks {
  /** After each read of the statistics. */
  onProgress?(point: ProgressPoint): void;
  /** After each test evaluation. */
  onTest?(point: TestPoint): void;
  /** After each epoch. */
  onEpoch?(record: EpochRecord): void;
  /** Aborted: training stops after the current step (the model is kept). */
  signal?: AbortSignal;
}

/**
 * Seconds spent training, evaluations excluded: time adds up in laps, and
 * the time between a {@link lap} and the next {@link restart} (an
 * evaluation) is left out.
 */
export class TrainClock {
  #seconds = 0;
  #lapStart = performance.now();

  /** Seconds of the completed laps. */
  get seconds(): number {
    return this.#seconds;
  }

  /** Seconds of the completed laps and of the lap under way. */
  get running(): number {
    return this.#seconds + (performance.now() - this.#lapStart) / 1000;
  }

  /** Ends the lap under way (adding it) and starts the next one. */
  lap(): void {
    const now = performance.now();
    this.#seconds += (now - this.#lapStart) / 1000;
    this.#lapStart = now;
  }

  /** Starts a new lap, leaving out the time since the last one ended. */
  restart(): void {
    this.#lapStart = performance.now();
  }
}

/** Options of {@link EpochProgress}. */
export interface EpochProgressOptions {
  /** The epoch (0-based). */
  epoch: number;
  /** Epochs to train in all, for the time left. */
  epochs: number;
  /** Steps per epoch. */
  stepsPerEpoch: number;
  /** Samples of the training split. */
  trainLength: number;
  /** Samples trained in the earlier epochs of this run, for the throughput. */
  trainedBefore: number;
  /** The run's training time. */
  clock: TrainClock;
  /** Where the points go. */
  onProgress?: (point: ProgressPoint) => void;
}

/**
 * One epoch's progress points: each read of the epoch's running statistics
 * becomes a {@link ProgressPoint} of the figures since the previous read.
 */
export class EpochProgress {
  readonly #options: EpochProgressOptions;
  #last = { loss: 0, correct: 0, etaSum: 0, samples: 0, steps: 0 };
  #nonFinite = "";

  /**
   * Starts the epoch's points.
   *
   * @param options the epoch, the run's sizes and clock, and where points go
   */
  constructor(options: EpochProgressOptions) {
    this.#options = options;
  }

  /** Why training must stop (the loss or η is no longer finite), or `""`. */
  get nonFinite(): string {
    return this.#nonFinite;
  }

  /**
   * Turns a read of the statistics into a point and hands it to `onProgress`,
   * or records in {@link nonFinite} that the loss or η is no longer finite.
   *
   * @param v the epoch's sums so far
   * @param samples samples of the epoch the sums cover
   * @param step steps of the epoch the sums cover
   */
  report(v: StatValues, samples: number, step: number): void {
    const { epoch, epochs, stepsPerEpoch, trainLength, trainedBefore, clock } = this.#options;
    const last = this.#last;
    const d = { samples: samples - last.samples, steps: step - last.steps };
    const point: ProgressPoint = {
      epoch,
      step,
      stepsPerEpoch,
      globalStep: epoch * stepsPerEpoch + step,
      loss: (v.loss - last.loss) / d.samples,
      acc: (v.correct - last.correct) / d.samples,
      eta: (v.etaSum - last.etaSum) / d.steps,
      epochLoss: v.loss / samples,
      epochAcc: v.correct / samples,
      samplesPerSecond: 0,
      etaSeconds: 0,
    };
    this.#last = { loss: v.loss, correct: v.correct, etaSum: v.etaSum, samples, steps: step };
    if (!Number.isFinite(point.loss) || !Number.isFinite(point.eta)) {
      this.#nonFinite = `the loss or η became ${point.loss} / ${point.eta}`;
      return;
    }
    const seen = trainedBefore + samples;
    point.samplesPerSecond = seen / Math.max(clock.running, 1e-9);
    const left = (epochs - epoch) * trainLength - samples;
    point.etaSeconds = left / Math.max(point.samplesPerSecond, 1e-9);
    this.#options.onProgress?.(point);
  }
}
