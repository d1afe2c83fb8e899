/**
 * One epoch of training steps. A step never waits for the GPU: loss, accuracy
 * and η accumulate on the device ({@link StepStats}) and are read back once
 * every {@link READ_EVERY} steps, asynchronously; the loop waits only for the
 * read issued one period earlier, so the GPU never runs dry and the queue
 * never grows without bound. The reads feed the progress bar and the NaN
 * check; the epoch's last read gives its sums.
 *
 * @module
 */
import { type OptimizerState, type TrainSetup, trainStep } from "@agd/agd";
import type { Dataset, Loader } from "@agd/datasets";
import type { DataParallel } from "@agd/distributed";
import { toTensors } from "./data.ts";
import type { Progress } from "./progress.ts";
import { combine, type EpochSums, type StatValues, StepStats } from "./step_stats.ts";

/** Steps between reads of the running statistics (progress display and NaN check). */
export const READ_EVERY = 10;

/** A loss became NaN or infinite; the last good checkpoint is kept. */
export class NonFiniteLossError extends Error {
  override name = "NonFiniteLossError";
}

/** What every epoch of a run shares. */
export interface EpochRunner {
  /** The training step. */
  setup: TrainSetup;
  /** The training batches (this rank's share with `dist`). */
  loader: Loader;
  /** The dataset's shapes. */
  info: Dataset["info"];
  /** Epochs of the run (for the progress label). */
  epochs: number;
  /** The global batch size (for the progress bar's samples/s). */
  batchSize: number;
  /** The progress display. */
  progress: Progress;
  /** The checkpoint named when a non-finite loss stops the run. */
  checkpointPath: string;
  /** Aborted: the epoch stops after the current step. */
  signal?: AbortSignal;
  /** The data-parallel job, if any. */
  dist?: DataParallel;
}

/** Where an epoch starts: at its first step, or where an interrupted run stopped. */
export interface EpochStart {
  /** The epoch (0-based). */
  epoch: number;
  /** The step to start at (the loader does not read the batches before it). */
  step: number;
  /** The sums of the steps before it. */
  sums: EpochSums;
  /** The optimizer state (consumed). */
  state: OptimizerState;
}

/** How an epoch ended. */
export interface EpochEnd {
  /** The epoch's sums, earlier part included, over every rank; `seconds` of training. */
  total: EpochSums;
  /** The step it stopped after (`loader.length` unless interrupted). */
  step: number;
  /** Samples trained on in this call, over every rank. */
  samples: number;
  /** Steps taken in this call. */
  steps: number;
  /** The optimizer state after the last step. */
  state: OptimizerState;
  /** When the epoch began, on `performance.now()`'s clock (earlier part included). */
  started: number;
  /** Seconds the loop waited for batches in this call (the input pipeline's share). */
  dataWaitSeconds: number;
}

/**
 * Runs the steps of one epoch from `start`, showing progress, until the loader
 * is exhausted or the signal aborts.
 *
 * @throws {NonFiniteLossError} when the loss or η stops being finite
 */
export async function runEpoch(runner: EpochRunner, start: EpochStart): Promise<EpochEnd> {
  const { setup, loader, progress, signal, dist } = runner;
  const { epoch, sums } = start;
  const skipSteps = start.step;
  let state = start.state;
  loader.epoch = epoch;
  // Mid-epoch resume: the loader starts at the saved step without reading the batches before it.
  loader.start = skipSteps;
  const started = performance.now() - sums.seconds * 1000;
  const stats = new StepStats();
  const reads: Promise<void>[] = [];
  let shownLoss = NaN;
  let shownEta = NaN;
  let nonFinite = false;
  const show = (v: StatValues, samplesSoFar: number, stepsSoFar: number) => {
    const seen = combine(sums, v, samplesSoFar, stepsSoFar);
    shownLoss = seen.loss / seen.samples;
    shownEta = seen.etaSum / seen.steps;
    if (!Number.isFinite(shownLoss) || !Number.isFinite(shownEta)) nonFinite = true;
    // Shown as soon as read, not at the next step (which may be seconds away).
    else progress.update(step, { loss: shownLoss, eta: shownEta, dataWaitMs: waitPerStep() });
  };
  progress.start(`epoch ${epoch + 1}/${runner.epochs}`, loader.length, runner.batchSize, skipSteps);
  let step = skipSteps;
  let samples = 0;
  let lastYield = performance.now();
  // Time spent waiting for the next batch: what the input pipeline costs the step.
  let dataWait = 0;
  const waitPerStep = () => dataWait / Math.max(step - skipSteps, 1);
  const batches = loader[Symbol.asyncIterator]();
  try {
    for (;;) {
      const asked = performance.now();
      const next = await batches.next();
      dataWait += performance.now() - asked;
      if (next.done) break;
      const batch = next.value;
      const [x, y] = toTensors(batch, runner.info);
      const sync = dist?.syncGradients(setup.params);
      const result = await trainStep(setup, { x, y, state, sync });
      state = result.state;
      stats.add(result.lossSum, result.correct, result.eta);
      [result.lossSum, result.correct, result.eta, x, y].forEach((t) => t.dispose());
      step++;
      samples += batch.size;
      // The first step's values are read at once, so the bar shows a loss and
      // η from the start; then one read per period.
      if (step % READ_EVERY === 0 || step === skipSteps + 1) {
        const [n, k] = [samples, step - skipSteps];
        reads.push(stats.read().then((v) => show(v, n, k)));
        // Wait for the previous period's read only: the GPU keeps one period queued.
        if (reads.length > 1) await reads[reads.length - 2];
      }
      if (nonFinite) {
        throw new NonFiniteLossError(
          `Stopped at epoch ${
            epoch + 1
          }, step ${step}: the loss or η became ${shownLoss} / ${shownEta}; ` +
            `the last good checkpoint is ${runner.checkpointPath}`,
        );
      }
      progress.update(step, { loss: shownLoss, eta: shownEta, dataWaitMs: waitPerStep() });
      // Let timers and signal handlers run: on the CPU backend every await above
      // resolves as a microtask, which would starve Ctrl-C until the epoch ends.
      if (performance.now() - lastYield > 50) {
        await new Promise((r) => setTimeout(r, 0));
        lastYield = performance.now();
      }
      if (signal?.aborted) break;
    }
    await Promise.all(reads);
    let now = await stats.read();
    const steps = step - skipSteps;
    if (dist) {
      // η is the same on every rank; losses, counts and samples add up.
      const [loss, correct, n] = await dist.sum([now.loss, now.correct, samples]);
      now = { ...now, loss, correct };
      samples = n;
    }
    const total: EpochSums = {
      ...combine(sums, now, samples, steps),
      seconds: (performance.now() - started) / 1000,
    };
    if (!Number.isFinite(total.loss) || !Number.isFinite(total.etaSum)) {
      throw new NonFiniteLossError(
        `Stopped in epoch ${epoch + 1}: the loss became ${
          total.loss / total.samples
        }; the last good checkpoint is ${runner.checkpointPath}`,
      );
    }
    return { total, step, samples, steps, state, started, dataWaitSeconds: dataWait / 1000 };
  } finally {
    // As `for await` would on break or throw: the loader stops its workers and prefetch.
    await batches.return?.();
    stats.dispose();
  }
}
