/**
 * The training loop: AGD (or a baseline) on a model and dataset, with per-epoch
 * metrics, atomic checkpoints, resume, and NaN detection. A step never waits
 * for the GPU: loss, accuracy and η accumulate on the device and are read back
 * once every {@link READ_EVERY} steps, asynchronously; the loop waits only for
 * the read issued one period earlier, so the GPU never runs dry and the
 * queue never grows without bound.
 *
 * @module
 */
import { Adam, Agd, agdInit, type Optimizer, Sgd } from "@agd/agd";
import {
  type Batch,
  createLoader,
  type Dataset,
  type DatasetName,
  openDataset,
} from "@agd/datasets";
import type { DataParallel } from "@agd/distributed";
import { createModel, loadCheckpoint, type Module, saveCheckpoint } from "@agd/models";
import {
  add,
  backward,
  countCorrect,
  cpu,
  crossEntropyLoss,
  mseLoss,
  mul,
  noGrad,
  setBackend,
  type Tensor,
  tensor,
  tidy,
  useWebGPU,
  zeros,
} from "@agd/tensor";
import type { TrainConfig } from "./args.ts";
import type { EpochMetrics } from "./plot.ts";
import { formatRate, Progress } from "./progress.ts";
import { type StatValues, StepStats } from "./step_stats.ts";

/** Options of {@link train}. */
export interface TrainOptions {
  /** Progress display (default: a new one on stdout). */
  progress?: Progress;
  /** Aborting it (Ctrl-C) saves a checkpoint after the current step and returns. */
  signal?: AbortSignal;
}

/** How a run ended. */
export interface TrainResult {
  /** Metrics of the epochs this call completed. */
  epochs: EpochMetrics[];
  /** True when stopped by the signal (a checkpoint was saved). */
  interrupted: boolean;
  /** The trained model (the caller disposes it). */
  model: Module;
  /**
   * Whether this process writes the run's outputs: true except on ranks other
   * than 0 of a `--distribute` job, which leave curves and exports to rank 0.
   */
  primary: boolean;
}

/** A loss became NaN or infinite; the last good checkpoint is kept. */
export class NonFiniteLossError extends Error {
  override name = "NonFiniteLossError";
}

/** The first `limit` samples of a dataset (quick runs and tests). */
class Subset implements Dataset {
  readonly info: Dataset["info"];
  readonly split: Dataset["split"];
  readonly augment: boolean;
  readonly length: number;
  readonly #inner: Dataset;

  constructor(inner: Dataset, limit: number) {
    this.#inner = inner;
    this.info = inner.info;
    this.split = inner.split;
    this.augment = inner.augment;
    this.length = Math.min(limit, inner.length);
  }

  labelOf(index: number): number {
    return this.#inner.labelOf(index);
  }

  load(
    indices: ArrayLike<number>,
    options: { seed: number; epoch: number },
  ): ReturnType<Dataset["load"]> {
    return this.#inner.load(indices, options);
  }

  close(): void {
    this.#inner.close();
  }
}

/** Partial sums of an interrupted epoch, saved in the checkpoint to resume exactly. */
interface EpochSums extends StatValues {
  samples: number;
  steps: number;
  seconds: number;
}

const NO_SUMS: EpochSums = {
  loss: 0,
  correct: 0,
  etaSum: 0,
  etaMin: Infinity,
  etaMax: -Infinity,
  samples: 0,
  steps: 0,
  seconds: 0,
};

/** Steps between reads of the running statistics (progress display and NaN check). */
const READ_EVERY = 10;

/** Adds this epoch's GPU statistics to those of the interrupted part before a resume. */
function combine(before: EpochSums, now: StatValues, samples: number, steps: number): EpochSums {
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

const CHECKPOINT = "checkpoint.safetensors";

function makeOptimizer(config: TrainConfig): Optimizer {
  if (config.optimizer === "agd") return new Agd({ gain: config.gain });
  if (config.optimizer === "sgd") return new Sgd({ lr: config.lr, momentum: config.momentum });
  return new Adam({ lr: config.lr });
}

async function openSplit(config: TrainConfig, split: "train" | "test"): Promise<Dataset> {
  const ds = await openDataset(config.dataset as DatasetName, {
    split,
    dataDir: config.data_dir,
    download: !config.no_download,
  });
  const limit = split === "train" ? config.train_limit : config.test_limit;
  return limit ? new Subset(ds, limit) : ds;
}

function toTensors(batch: Batch, info: Dataset["info"]): [Tensor, Tensor] {
  const x = tensor(batch.images, { shape: [batch.size, info.channels, info.height, info.width] });
  return [x, tensor(batch.labels)];
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Test-set loss and accuracy in evaluation mode (running BatchNorm statistics);
 * with `shard`, over that rank's share of the test set only.
 */
export async function evaluate(
  model: Module,
  dataset: Dataset,
  config: TrainConfig,
  shard?: { rank: number; worldSize: number },
): Promise<{ loss: number; acc: number }> {
  const lossFn = config.loss === "mse" ? mseLoss : crossEntropyLoss;
  model.eval();
  let lossSum = zeros([]);
  let correct = zeros([]);
  let samples = 0;
  for await (
    const batch of createLoader(dataset, { batchSize: config.test_bs, seed: config.seed, ...shard })
  ) {
    const [x, y] = toTensors(batch, dataset.info);
    const [nextLoss, nextCorrect] = tidy(() =>
      noGrad(() => {
        const out = model.forward(x);
        return [add(lossSum, mul(lossFn(out, y), batch.size)), add(correct, countCorrect(out, y))];
      })
    );
    [lossSum, correct, x, y].forEach((t) => t.dispose());
    lossSum = nextLoss;
    correct = nextCorrect;
    samples += batch.size;
  }
  const result = { loss: (await lossSum.item()) / samples, acc: (await correct.item()) / samples };
  lossSum.dispose();
  correct.dispose();
  model.train();
  return result;
}

/** Progress of ranks other than 0: only rank 0 prints. */
class QuietProgress extends Progress {
  override start(): void {}
  override update(): void {}
  override end(): void {}
  override log(): void {}
}

/**
 * Trains as configured, appending to `<out>/metrics.jsonl` and checkpointing
 * to `<out>/checkpoint.safetensors` after every epoch (and on abort).
 *
 * With `--distribute` (under `mpirun`), this process is one rank of a
 * data-parallel job (packages/distributed): it trains on its shard with
 * train_bs / N samples per step and gradients averaged over ranks. Only rank 0
 * writes files (`primary` in the result). Any error on any rank
 * aborts the whole job.
 */
export async function train(config: TrainConfig, options: TrainOptions = {}): Promise<TrainResult> {
  if (!config.distribute) return await trainOn(config, options);
  // Loaded only here: nothing else needs Open MPI installed.
  const { DataParallel } = await import("@agd/distributed");
  // Typed explicitly so that abort(), which returns never, ends the control flow.
  const dist: DataParallel = DataParallel.init({ selectGpu: !config.cpu });
  let result: TrainResult;
  try {
    result = await trainOn(config, options, dist);
    await dist.finalize();
  } catch (e) {
    dist.abort(`rank ${dist.rank}: ${e instanceof Error ? e.message : e}`);
  }
  // Curves and ONNX export are rank 0's; other ranks may not even see its --out.
  return { ...result, primary: dist.rank === 0 };
}

async function trainOn(
  config: TrainConfig,
  options: TrainOptions,
  dist?: DataParallel,
): Promise<TrainResult> {
  const rank0 = !dist || dist.rank === 0;
  if (dist) {
    if (config.train_bs % dist.size !== 0) {
      throw new Error(
        `Cannot --distribute --train_bs ${config.train_bs} over ${dist.size} ranks: use a multiple of ${dist.size}`,
      );
    }
    // Every rank stops after the same step, whichever rank was interrupted.
    options = { ...options, signal: dist.agree(options.signal) };
  }
  if (config.cpu) setBackend(cpu());
  else await useWebGPU();
  const progress = rank0 ? options.progress ?? new Progress() : new QuietProgress();
  if (dist) {
    progress.log(
      `Distributed over ${dist.size} ranks: ${
        config.train_bs / dist.size
      } samples per rank and step; rank 0: ${dist.notes.join("; ")}`,
    );
  }
  const out = config.out;
  const checkpointPath = `${out}/${CHECKPOINT}`;
  if (!config.resume && await exists(`${out}/metrics.jsonl`)) {
    throw new Error(
      `Cannot start a new run in ${out}: it already holds one; pass --resume to continue it or choose another --out`,
    );
  }
  if (config.resume && !await exists(checkpointPath)) {
    throw new Error(`Cannot --resume: ${checkpointPath} does not exist (start without --resume)`);
  }
  await Deno.mkdir(out, { recursive: true });

  // The model first: a refused --arch/--dataset pair fails before any data is read.
  const model = createModel(config.arch, config.dataset, {
    depth: config.depth,
    width: config.width,
    seed: config.seed,
  });
  const trainSet = await openSplit(config, "train");
  const testSet = await openSplit(config, "test");
  const info = trainSet.info;
  const params = model.parameters();
  const optimizer = makeOptimizer(config);
  if (config.optimizer === "agd") agdInit(params, { seed: config.seed });

  let startEpoch = 0;
  let skipSteps = 0;
  let sums: EpochSums = NO_SUMS;
  let globalStep = 0;
  if (config.resume) {
    const { metadata, extra } = await loadCheckpoint(checkpointPath, model, {
      extraPrefix: "optimizer.",
    });
    startEpoch = Number(metadata.epoch);
    skipSteps = Number(metadata.step);
    globalStep = Number(metadata.global_step ?? 0);
    // JSON has no Infinity (etaMin/etaMax before a first step): null falls back to NO_SUMS.
    if (metadata.partial) {
      sums = { ...NO_SUMS, ...JSON.parse(metadata.partial, (_, v) => v ?? undefined) };
    }
    const state = new Map([...extra].map(([k, v]) => [k.slice("optimizer.".length), v]));
    if (optimizer instanceof Adam) optimizer.loadState(state, globalStep);
    else optimizer.loadState(state);
    progress.log(`Resuming ${out} at epoch ${startEpoch + 1}, step ${skipSteps}`);
  }
  // On resume too: it records what was changed (--epochs, --export, …) for the next resume.
  if (rank0) {
    await Deno.writeTextFile(`${out}/config.json`, JSON.stringify(config, null, 2) + "\n");
  }
  // Rank 0's weights (and BatchNorm statistics) are everybody's starting point.
  if (dist) await dist.broadcast([...params, ...model.buffers()]);

  const save = async (epoch: number, step: number, partial?: EpochSums) => {
    if (!rank0) return;
    const extra = new Map([...optimizer.state()].map(([k, v]) => [`optimizer.${k}`, v]));
    await saveCheckpoint(checkpointPath, model, {
      extra,
      metadata: {
        arch: config.arch,
        dataset: config.dataset,
        depth: config.depth,
        width: config.width,
        seed: config.seed,
        optimizer: config.optimizer,
        epoch,
        step,
        global_step: globalStep,
        ...(partial ? { partial: JSON.stringify(partial) } : {}),
      },
    });
  };

  const lossFn = config.loss === "mse" ? mseLoss : crossEntropyLoss;
  // Rank r takes every N-th sample of the shuffled epoch: step s of all ranks
  // together covers exactly the single-process global batch s.
  const loader = createLoader(trainSet, {
    batchSize: config.train_bs / (dist?.size ?? 1),
    shuffle: true,
    seed: config.seed,
    rank: dist?.rank ?? 0,
    worldSize: dist?.size ?? 1,
  });
  const completed: EpochMetrics[] = [];
  try {
    for (let epoch = startEpoch; epoch < config.epochs; epoch++) {
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
        else progress.update(step, { loss: shownLoss, eta: shownEta });
      };
      progress.start(
        `epoch ${epoch + 1}/${config.epochs}`,
        loader.length,
        config.train_bs,
        skipSteps,
      );
      let step = skipSteps;
      let samples = 0;
      let lastYield = performance.now();
      for await (const batch of loader) {
        const [x, y] = toTensors(batch, info);
        const sync = dist?.syncGradients(params);
        sync?.watch();
        const [lossSum, correct] = tidy(() => {
          const logits = model.forward(x);
          const loss = lossFn(logits, y);
          backward(loss);
          return [mul(loss, batch.size), countCorrect(logits, y)];
        });
        await sync?.done();
        const eta = optimizer.step(params);
        stats.add(lossSum, correct, eta);
        [lossSum, correct, eta, x, y].forEach((t) => t.dispose());
        step++;
        globalStep++;
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
              `the last good checkpoint is ${checkpointPath}`,
          );
        }
        progress.update(step, { loss: shownLoss, eta: shownEta });
        // Let timers and signal handlers run: on the CPU backend every await above
        // resolves as a microtask, which would starve Ctrl-C until the epoch ends.
        if (performance.now() - lastYield > 50) {
          await new Promise((r) => setTimeout(r, 0));
          lastYield = performance.now();
        }
        if (options.signal?.aborted) break;
      }
      await Promise.all(reads);
      let now = await stats.read();
      if (dist) {
        // η is the same on every rank; losses, counts and samples add up.
        const [loss, correct, n] = await dist.sum([now.loss, now.correct, samples]);
        now = { ...now, loss, correct };
        samples = n;
      }
      const total: EpochSums = {
        ...combine(sums, now, samples, step - skipSteps),
        seconds: (performance.now() - started) / 1000,
      };
      stats.dispose();
      if (!Number.isFinite(total.loss) || !Number.isFinite(total.etaSum)) {
        throw new NonFiniteLossError(
          `Stopped in epoch ${epoch + 1}: the loss became ${
            total.loss / total.samples
          }; the last good checkpoint is ${checkpointPath}`,
        );
      }
      if (options.signal?.aborted && step < loader.length) {
        progress.end();
        await save(epoch, step, total);
        progress.log(
          `Interrupted: saved ${checkpointPath} (epoch ${
            epoch + 1
          }, step ${step}); continue with --resume`,
        );
        return { epochs: completed, interrupted: true, model, primary: true };
      }
      progress.end();
      const trainSeconds = total.seconds;
      let test: { loss: number; acc: number };
      if (dist) {
        // Like DDP's broadcast_buffers: evaluate (and save) rank 0's BatchNorm statistics.
        await dist.broadcast(model.buffers());
        const shard = await evaluate(model, testSet, config, {
          rank: dist.rank,
          worldSize: dist.size,
        });
        const [loss, acc] = await dist.sum([shard.loss, shard.acc]);
        test = { loss: loss / dist.size, acc: acc / dist.size };
      } else {
        test = await evaluate(model, testSet, config);
      }
      const metrics: EpochMetrics = {
        epoch: epoch + 1,
        eta_min: total.etaMin,
        eta_mean: total.etaSum / total.steps,
        eta_max: total.etaMax,
        train_loss: total.loss / total.samples,
        train_acc: total.correct / total.samples,
        test_loss: test.loss,
        test_acc: test.acc,
        samples_per_s: samples / Math.max(trainSeconds - sums.seconds, 1e-9),
        seconds: (performance.now() - started) / 1000,
      };
      if (rank0) {
        await Deno.writeTextFile(`${out}/metrics.jsonl`, JSON.stringify(metrics) + "\n", {
          append: true,
        });
      }
      await save(epoch + 1, 0);
      completed.push(metrics);
      progress.log(
        `epoch ${metrics.epoch}: η ${metrics.eta_min.toFixed(4)}/${metrics.eta_mean.toFixed(4)}/${
          metrics.eta_max.toFixed(4)
        } (min/mean/max)  train loss ${metrics.train_loss.toFixed(4)} acc ${
          (100 * metrics.train_acc).toFixed(2)
        }%  ` +
          `test loss ${metrics.test_loss.toFixed(4)} acc ${
            (100 * metrics.test_acc).toFixed(2)
          }%  ` +
          `${formatRate(metrics.samples_per_s)} samples/s  ${metrics.seconds.toFixed(1)} s`,
      );
      if (dist) progress.log(dist.describeTiming());
      sums = NO_SUMS;
      skipSteps = 0;
      if (options.signal?.aborted) {
        return { epochs: completed, interrupted: true, model, primary: true };
      }
    }
  } finally {
    trainSet.close();
    testSet.close();
  }
  return { epochs: completed, interrupted: false, model, primary: true };
}
