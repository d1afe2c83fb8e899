/**
 * The training loop: AGD (or a baseline) on a model and dataset, with per-epoch
 * metrics, atomic checkpoints, resume, and NaN detection. A step never waits
 * for the GPU: loss and accuracy accumulate on the device and values are read
 * back asynchronously (the loop stays at most two steps ahead of the GPU).
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
import { Progress } from "./progress.ts";

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
interface EpochSums {
  loss: number;
  correct: number;
  samples: number;
  etas: number[];
  seconds: number;
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

/** Test-set loss and accuracy in evaluation mode (running BatchNorm statistics). */
export async function evaluate(
  model: Module,
  dataset: Dataset,
  config: TrainConfig,
): Promise<{ loss: number; acc: number }> {
  const lossFn = config.loss === "mse" ? mseLoss : crossEntropyLoss;
  model.eval();
  let lossSum = zeros([]);
  let correct = zeros([]);
  let samples = 0;
  for await (
    const batch of createLoader(dataset, { batchSize: config.test_bs, seed: config.seed })
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

/**
 * Trains as configured, appending to `<out>/metrics.jsonl` and checkpointing
 * to `<out>/checkpoint.safetensors` after every epoch (and on abort).
 */
export async function train(config: TrainConfig, options: TrainOptions = {}): Promise<TrainResult> {
  if (config.distribute) {
    throw new Error(
      "Cannot use --distribute: data-parallel training over MPI is not implemented in this version",
    );
  }
  if (config.cpu) setBackend(cpu());
  else await useWebGPU();
  const progress = options.progress ?? new Progress();
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
  let sums: EpochSums = { loss: 0, correct: 0, samples: 0, etas: [], seconds: 0 };
  let globalStep = 0;
  if (config.resume) {
    const { metadata, extra } = await loadCheckpoint(checkpointPath, model, {
      extraPrefix: "optimizer.",
    });
    startEpoch = Number(metadata.epoch);
    skipSteps = Number(metadata.step);
    globalStep = Number(metadata.global_step ?? 0);
    if (metadata.partial) sums = JSON.parse(metadata.partial);
    const state = new Map([...extra].map(([k, v]) => [k.slice("optimizer.".length), v]));
    if (optimizer instanceof Adam) optimizer.loadState(state, globalStep);
    else optimizer.loadState(state);
    progress.log(`Resuming ${out} at epoch ${startEpoch + 1}, step ${skipSteps}`);
  } else {
    await Deno.writeTextFile(`${out}/config.json`, JSON.stringify(config, null, 2) + "\n");
  }

  const save = async (epoch: number, step: number, partial?: EpochSums) => {
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
  const loader = createLoader(trainSet, {
    batchSize: config.train_bs,
    shuffle: true,
    seed: config.seed,
  });
  const completed: EpochMetrics[] = [];
  try {
    for (let epoch = startEpoch; epoch < config.epochs; epoch++) {
      loader.epoch = epoch;
      const started = performance.now() - sums.seconds * 1000;
      let lossSum = zeros([]);
      let correctSum = zeros([]);
      const etas: Promise<number>[] = [];
      let shownLoss = NaN;
      let shownEta = NaN;
      let nonFinite = false;
      const check = (v: number, what: string) => {
        if (!Number.isFinite(v)) nonFinite = true;
        return what === "loss" ? (shownLoss = v) : (shownEta = v);
      };
      progress.start(`epoch ${epoch + 1}/${config.epochs}`, loader.length, config.train_bs);
      let step = 0;
      let samples = 0;
      let lastYield = performance.now();
      for await (const batch of loader) {
        if (step < skipSteps) {
          step++;
          continue;
        }
        const [x, y] = toTensors(batch, info);
        const [nextLoss, nextCorrect] = tidy(() => {
          const logits = model.forward(x);
          const loss = lossFn(logits, y);
          backward(loss);
          return [add(lossSum, mul(loss, batch.size)), add(correctSum, countCorrect(logits, y))];
        });
        const eta = optimizer.step(params);
        [lossSum, correctSum, x, y].forEach((t) => t.dispose());
        lossSum = nextLoss;
        correctSum = nextCorrect;
        etas.push(eta.item().then((v) => (eta.dispose(), check(v, "eta"))));
        step++;
        globalStep++;
        samples += batch.size;
        // Stay at most two steps ahead of the GPU without ever waiting on the current one.
        if (etas.length > 2) await etas[etas.length - 3];
        if (step % 10 === 0) {
          const seen = sums.samples + samples;
          lossSum.item().then((v) => check((v + sums.loss) / seen, "loss"));
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
      const epochEtas = [...sums.etas, ...(await Promise.all(etas))];
      const total: EpochSums = {
        loss: sums.loss + (await lossSum.item()),
        correct: sums.correct + (await correctSum.item()),
        samples: sums.samples + samples,
        etas: epochEtas,
        seconds: (performance.now() - started) / 1000,
      };
      lossSum.dispose();
      correctSum.dispose();
      if (!Number.isFinite(total.loss) || epochEtas.some((v) => !Number.isFinite(v))) {
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
        return { epochs: completed, interrupted: true, model };
      }
      progress.end();
      const trainSeconds = total.seconds;
      const test = await evaluate(model, testSet, config);
      const metrics: EpochMetrics = {
        epoch: epoch + 1,
        eta_min: Math.min(...epochEtas),
        eta_mean: epochEtas.reduce((a, b) => a + b, 0) / epochEtas.length,
        eta_max: Math.max(...epochEtas),
        train_loss: total.loss / total.samples,
        train_acc: total.correct / total.samples,
        test_loss: test.loss,
        test_acc: test.acc,
        samples_per_s: samples / Math.max(trainSeconds - sums.seconds, 1e-9),
        seconds: (performance.now() - started) / 1000,
      };
      await Deno.writeTextFile(`${out}/metrics.jsonl`, JSON.stringify(metrics) + "\n", {
        append: true,
      });
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
          `${Math.round(metrics.samples_per_s)} samples/s  ${metrics.seconds.toFixed(1)} s`,
      );
      sums = { loss: 0, correct: 0, samples: 0, etas: [], seconds: 0 };
      skipSteps = 0;
      if (options.signal?.aborted) return { epochs: completed, interrupted: true, model };
    }
  } finally {
    trainSet.close();
    testSet.close();
  }
  return { epochs: completed, interrupted: false, model };
}
