/**
 * The training page's engine (train.html): Fashion-MNIST (or MNIST) from IDX
 * bytes, an fcn trained with AGD on WebGPU exactly as `deno task train` trains
 * it — the same model and init (`createModel` and `agdInit` with the seed),
 * the same loader (`createLoader`, shuffled with the seed, the epoch set each
 * epoch), mse loss, batch 128 and `trainStep` — with the statistics kept on
 * the GPU ({@link StepStats}, apps/cli's) and read back every
 * {@link TrainSettings.readEvery} steps without stalling the queue, as
 * apps/cli/epoch.ts does. It then classifies images with the trained model
 * and gives it as ONNX bytes and as a safetensors checkpoint with apps/cli's
 * names and metadata.
 *
 * Nothing here touches the DOM (train_page.js draws) nor the file system, so
 * it runs in a page and, for tests, in Deno.
 *
 * @module
 */
import {
  Agd,
  agdInit,
  disposeState,
  type OptimizerState,
  type TrainSetup,
  trainStep,
} from "@agd/agd";
import {
  ArrayDataset,
  createLoader,
  type DatasetInfo,
  datasetInfo,
  mnistFiles,
  parseIdx,
} from "@agd/datasets/memory";
import { createModel, type Module, stateDict } from "@agd/models";
import { exportOnnx } from "@agd/onnx-export";
import {
  add,
  countCorrect,
  encodeSafetensors,
  mseLoss,
  mul,
  noGrad,
  type Tensor,
  tensor,
  tidy,
  useWebGPU,
  zeros,
} from "@agd/tensor";
import { StepStats } from "../cli/step_stats.ts";

/** The datasets the page trains on: MNIST-format IDX files, 1×28×28, 10 classes. */
export type IdxDatasetName = "fashion-mnist" | "mnist";

/** What the user chose; everything else is `deno task train`'s default. */
export interface TrainSettings {
  /** fcn depth (number of Linear layers, ≥ 2). */
  depth: number;
  /** fcn width. */
  width: number;
  /** AGD gain (default 1). */
  gain: number;
  /** Seed of the init and of the shuffling (`--seed`). */
  seed: number;
  /** Epochs to train. */
  epochs: number;
  /** Training batch size (`--train_bs`, default 128). */
  trainBs?: number;
  /** Test batch size (`--test_bs`, default 128). */
  testBs?: number;
  /** Train on the first N training samples only (`--train-limit`). */
  trainLimit?: number;
  /** Evaluate on the first N test samples only (`--test-limit`). */
  testLimit?: number;
  /** Steps between reads of the GPU statistics (default 10, apps/cli's READ_EVERY). */
  readEvery?: number;
  /** Also evaluate the test set every this many steps (default: only at each epoch's end). */
  testEvery?: number;
}

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

/** An epoch's figures, as apps/cli's metrics.jsonl records them. */
export interface EpochRecord {
  /** Epoch, from 1. */
  epoch: number;
  /** Smallest η of the epoch. */
  eta_min: number;
  /** Mean η of the epoch. */
  eta_mean: number;
  /** Largest η of the epoch. */
  eta_max: number;
  /** Mean training loss per sample. */
  train_loss: number;
  /** Training accuracy. */
  train_acc: number;
  /** Test loss per sample. */
  test_loss: number;
  /** Test accuracy. */
  test_acc: number;
  /** Training samples per second. */
  samples_per_s: number;
  /** Seconds of the epoch, evaluation included. */
  seconds: number;
}

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

/** The train and test splits, in memory. */
export interface IdxData {
  /** Which dataset's metadata (normalisation, labels) applies. */
  name: IdxDatasetName;
  /** The training split. */
  train: ArrayDataset;
  /** The test split. */
  test: ArrayDataset;
}

/** The four file names of a MNIST-format dataset (what `mnistFiles` gives, gzipped). */
export const IDX_FILES: readonly string[] = [mnistFiles("train"), mnistFiles("test")]
  .flatMap((f) => [f.images, f.labels]).map((f) => `${f}.gz`);

/**
 * Makes the tab's WebGPU adapter the backend of new tensors.
 *
 * @returns the adapter's description (vendor and architecture where it has none)
 * @throws {Error} when the browser has no WebGPU or no adapter
 */
export async function openGpu(): Promise<string> {
  const { vendor, architecture, description } = (await useWebGPU()).adapterInfo;
  return description || [vendor, architecture].filter(Boolean).join(" ") || "WebGPU adapter";
}

/** Whether bytes start with the gzip magic 1f 8b. */
function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Gunzips `bytes` with the web's DecompressionStream when they are gzipped,
 * else returns them unchanged.
 *
 * @param bytes a file's contents
 * @param name the file, for the error message
 * @returns the uncompressed bytes
 */
export async function maybeGunzip(bytes: Uint8Array, name: string): Promise<Uint8Array> {
  if (!isGzip(bytes)) return bytes;
  try {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
      .pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new Error(`Cannot gunzip ${name}: ${(e as Error).message}; pick an intact copy`);
  }
}

/**
 * Builds the train and test splits from the four IDX files (gzipped or
 * not), named as in the dataset's release (`train-images-idx3-ubyte[.gz]`, …).
 *
 * @param files the files' names and contents (any order; other files are ignored)
 * @param name the dataset whose normalisation and labels apply (default fashion-mnist)
 * @returns the splits, as `openDataset` would hold them
 */
export async function idxData(
  files: readonly { name: string; bytes: Uint8Array }[],
  name: IdxDatasetName = "fashion-mnist",
): Promise<IdxData> {
  const find = (base: string) => {
    const f = files.find((f) => f.name === base || f.name === `${base}.gz`);
    if (!f) {
      throw new Error(
        `Cannot build ${name}: ${base}(.gz) is missing among ${
          files.map((f) => f.name).join(", ") || "no files"
        }; pick all four IDX files`,
      );
    }
    return f;
  };
  const split = async (which: "train" | "test") => {
    const names = mnistFiles(which);
    const [images, labels] = await Promise.all(
      [[names.images, "images"], [names.labels, "labels"]].map(async ([base, expect]) => {
        const f = find(base);
        return parseIdx(await maybeGunzip(f.bytes, f.name), {
          name: f.name,
          expect: expect as "images" | "labels",
        });
      }),
    );
    const info = datasetInfo(name);
    const [count, h, w] = images.dims;
    if (images.dims.length !== 3 || h !== info.height || w !== info.width) {
      throw new Error(
        `Cannot build ${name}: ${names.images} holds ${
          images.dims.join("×")
        } images, expected N×${info.height}×${info.width}`,
      );
    }
    if (labels.dims[0] !== count) {
      throw new Error(
        `Cannot build ${name}: ${names.labels} has ${
          labels.dims[0]
        } labels for ${count} images; use files of the same release`,
      );
    }
    if (which === "train") info.trainSize = count;
    else info.testSize = count;
    return new ArrayDataset(
      { images: images.data, labels: labels.data, count },
      { info, split: which },
    );
  };
  const [train, test] = await Promise.all([split("train"), split("test")]);
  return { name, train, test };
}

/** The first `limit` samples of a dataset, as apps/cli's `--train-limit` cuts it. */
function firstSamples(ds: ArrayDataset, limit: number | undefined): ArrayDataset {
  if (!limit || limit >= ds.length) return ds;
  const plane = ds.info.channels * ds.info.height * ds.info.width;
  return new ArrayDataset({
    images: ds.data.images.subarray(0, limit * plane),
    labels: ds.data.labels.subarray(0, limit),
    count: limit,
  }, { info: ds.info, split: ds.split });
}

/** Gives the event loop a turn (rendering, input) without a timer's clamping or throttling. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

/** A model's predictions for a batch of images. */
export interface Predictions {
  /** Logits, one row of `classes` per image. */
  logits: Float32Array;
  /** Top class of each image. */
  top: number[];
}

/** Index of the largest value of row `row` of a `[rows, cols]` array. */
function argmaxRow(v: Float32Array, row: number, cols: number): number {
  let best = 0;
  for (let j = 1; j < cols; j++) if (v[row * cols + j] > v[row * cols + best]) best = j;
  return best;
}

/**
 * An fcn trained in the tab: {@link train} runs the epochs, then
 * {@link predict}, {@link onnx} and {@link checkpoint} use the trained model.
 * Call {@link dispose} to free its GPU memory.
 */
export class TabTrainer {
  /** The settings, defaults filled in. */
  readonly settings: Required<Omit<TrainSettings, "trainLimit" | "testLimit" | "testEvery">> & {
    trainLimit?: number;
    testLimit?: number;
    testEvery?: number;
  };
  /** The dataset's metadata (normalisation, shape). */
  readonly info: DatasetInfo;
  /** The training split (cut to `trainLimit`). */
  readonly train: ArrayDataset;
  /** The test split (cut to `testLimit`). */
  readonly test: ArrayDataset;
  /** The model. */
  readonly model: Module;
  /** Epochs completed. */
  epochsDone = 0;
  /** Steps taken. */
  globalStep = 0;
  /** The records of the completed epochs. */
  readonly records: EpochRecord[] = [];
  readonly #setup: TrainSetup;
  #state: OptimizerState;
  /** Steps done in the epoch under way (0 at an epoch's end). */
  #epochStep = 0;

  /**
   * Builds the model as `deno task train --arch fcn` does: `createModel` with
   * the seed, then AGD's orthogonal init with the same seed.
   *
   * @param data the splits (see {@link idxData})
   * @param settings depth, width, gain, seed, epochs and the optional limits
   */
  constructor(data: IdxData, settings: TrainSettings) {
    this.settings = { trainBs: 128, testBs: 128, readEvery: 10, ...settings };
    for (const key of ["depth", "width", "epochs", "trainBs", "testBs", "readEvery"] as const) {
      const v = this.settings[key];
      if (!(Number.isInteger(v) && v >= 1)) {
        throw new Error(`Cannot train with ${key} ${v}: it must be a positive integer`);
      }
    }
    if (!Number.isInteger(this.settings.seed)) {
      throw new Error(`Cannot train with seed ${this.settings.seed}: it must be an integer`);
    }
    if (!(this.settings.gain > 0)) {
      throw new Error(`Cannot train with gain ${this.settings.gain}: it must be positive`);
    }
    this.train = firstSamples(data.train, this.settings.trainLimit);
    this.test = firstSamples(data.test, this.settings.testLimit);
    this.info = this.train.info;
    const { depth, width, seed, gain } = this.settings;
    this.model = createModel("fcn", data.name, { depth, width, seed });
    const params = this.model.parameters();
    agdInit(params, { seed });
    const optimizer = new Agd({ gain });
    this.#setup = { forward: (x) => this.model.forward(x), loss: mseLoss, params, optimizer };
    this.#state = optimizer.init(params);
  }

  /** Steps per epoch. */
  get stepsPerEpoch(): number {
    return Math.ceil(this.train.length / this.settings.trainBs);
  }

  /**
   * Trains the remaining epochs (all of them on the first call). A step
   * never waits for the GPU: loss, correct count and η add up on the GPU and
   * are read every `readEvery` steps; the loop waits only for the read issued
   * one period earlier (apps/cli/epoch.ts), and gives the event loop a turn
   * at least every 50 ms so that the page stays responsive.
   *
   * @param callbacks progress, test and epoch reports; an abort signal
   * @returns the records of the epochs completed by this call
   * @throws {Error} when the loss or η stops being finite
   */
  async run(callbacks: TrainCallbacks = {}): Promise<EpochRecord[]> {
    const { epochs, trainBs, readEvery, testEvery } = this.settings;
    const loader = createLoader(this.train, {
      batchSize: trainBs,
      shuffle: true,
      seed: this.settings.seed,
    });
    const perEpoch = loader.length;
    const done: EpochRecord[] = [];
    let trainSeconds = 0; // excluding evaluations
    let trainedSamples = 0;
    const shape = [this.info.channels, this.info.height, this.info.width];
    for (let epoch = this.epochsDone; epoch < epochs; epoch++) {
      loader.epoch = epoch;
      const epochStart = performance.now();
      const secondsBefore = trainSeconds;
      const stats = new StepStats();
      const reads: Promise<void>[] = [];
      let last = { loss: 0, correct: 0, etaSum: 0, samples: 0, steps: 0 };
      let nonFinite = "";
      let step = 0;
      let samples = 0;
      let lapStart = performance.now();
      let lastYield = lapStart;
      const lap = () => {
        const now = performance.now();
        trainSeconds += (now - lapStart) / 1000;
        lapStart = now;
      };
      const report = (v: Awaited<ReturnType<StepStats["read"]>>, n: number, k: number) => {
        const d = { samples: n - last.samples, steps: k - last.steps };
        const point: ProgressPoint = {
          epoch,
          step: k,
          stepsPerEpoch: perEpoch,
          globalStep: epoch * perEpoch + k,
          loss: (v.loss - last.loss) / d.samples,
          acc: (v.correct - last.correct) / d.samples,
          eta: (v.etaSum - last.etaSum) / d.steps,
          epochLoss: v.loss / n,
          epochAcc: v.correct / n,
          samplesPerSecond: 0,
          etaSeconds: 0,
        };
        last = { loss: v.loss, correct: v.correct, etaSum: v.etaSum, samples: n, steps: k };
        if (!Number.isFinite(point.loss) || !Number.isFinite(point.eta)) {
          nonFinite = `the loss or η became ${point.loss} / ${point.eta}`;
          return;
        }
        const elapsed = trainSeconds + (performance.now() - lapStart) / 1000;
        const seen = trainedSamples + n;
        point.samplesPerSecond = seen / Math.max(elapsed, 1e-9);
        const left = (epochs - epoch) * this.train.length - n;
        point.etaSeconds = left / Math.max(point.samplesPerSecond, 1e-9);
        callbacks.onProgress?.(point);
      };
      try {
        for await (const batch of loader) {
          const x = tensor(batch.images, { shape: [batch.size, ...shape] });
          const y = tensor(batch.labels);
          const result = await trainStep(this.#setup, { x, y, state: this.#state });
          this.#state = result.state;
          stats.add(result.lossSum, result.correct, result.eta);
          [result.lossSum, result.correct, result.eta, x, y].forEach((t) => t.dispose());
          step++;
          samples += batch.size;
          this.globalStep++;
          this.#epochStep = step;
          // The first step is read at once, so the curves and the progress line start at once.
          if (step % readEvery === 0 || step === 1 || step === perEpoch) {
            const [n, k] = [samples, step];
            reads.push(stats.read().then((v) => report(v, n, k)));
            // Wait for the previous period's read only: the GPU keeps one period queued.
            if (reads.length > 1) await reads[reads.length - 2];
          }
          if (nonFinite) {
            throw new Error(`Stopped at epoch ${epoch + 1}, step ${step}: ${nonFinite}`);
          }
          if (testEvery && step % testEvery === 0 && step < perEpoch) {
            await Promise.all(reads);
            lap();
            const t = await this.evaluate();
            lapStart = performance.now();
            callbacks.onTest?.({
              epoch,
              globalStep: this.globalStep,
              stepsPerEpoch: perEpoch,
              ...t,
            });
          }
          if (performance.now() - lastYield > 50) {
            await yieldToEventLoop();
            lastYield = performance.now();
          }
          if (callbacks.signal?.aborted) break;
        }
        await Promise.all(reads);
        if (nonFinite) throw new Error(`Stopped at epoch ${epoch + 1}, step ${step}: ${nonFinite}`);
        const total = await stats.read();
        lap();
        trainedSamples += samples;
        if (callbacks.signal?.aborted && step < perEpoch) return done;
        const test = await this.evaluate();
        callbacks.onTest?.({
          epoch,
          globalStep: this.globalStep,
          stepsPerEpoch: perEpoch,
          ...test,
        });
        const record: EpochRecord = {
          epoch: epoch + 1,
          eta_min: total.etaMin,
          eta_mean: total.etaSum / step,
          eta_max: total.etaMax,
          train_loss: total.loss / samples,
          train_acc: total.correct / samples,
          test_loss: test.loss,
          test_acc: test.acc,
          samples_per_s: samples / Math.max(trainSeconds - secondsBefore, 1e-9),
          seconds: (performance.now() - epochStart) / 1000,
        };
        this.epochsDone = epoch + 1;
        this.#epochStep = 0;
        this.records.push(record);
        done.push(record);
        callbacks.onEpoch?.(record);
        lapStart = performance.now();
      } finally {
        stats.dispose();
      }
      if (callbacks.signal?.aborted) break;
    }
    return done;
  }

  /**
   * Test loss and accuracy in evaluation mode, batch `testBs`, as
   * apps/cli/evaluate.ts computes them (sums kept on the GPU, one read).
   *
   * @returns the mean loss per sample and the accuracy
   */
  async evaluate(): Promise<{ loss: number; acc: number }> {
    const shape = [this.info.channels, this.info.height, this.info.width];
    this.model.eval();
    let lossSum = zeros([]);
    let correct = zeros([]);
    let samples = 0;
    try {
      const loader = createLoader(this.test, {
        batchSize: this.settings.testBs,
        seed: this.settings.seed,
      });
      for await (const batch of loader) {
        const x = tensor(batch.images, { shape: [batch.size, ...shape] });
        const y = tensor(batch.labels);
        const [nextLoss, nextCorrect] = tidy(() =>
          noGrad(() => {
            const out = this.model.forward(x);
            return [
              add(lossSum, mul(mseLoss(out, y), batch.size)),
              add(correct, countCorrect(out, y)),
            ];
          })
        );
        [lossSum, correct, x, y].forEach((t) => t.dispose());
        lossSum = nextLoss;
        correct = nextCorrect;
        samples += batch.size;
      }
      return { loss: (await lossSum.item()) / samples, acc: (await correct.item()) / samples };
    } finally {
      lossSum.dispose();
      correct.dispose();
      this.model.train();
    }
  }

  /**
   * Normalises 28×28 grayscale pixels as the dataset's transform does
   * (ToTensor, then Normalize with the dataset's mean and std): the very
   * transform of the training batches, through an {@link ArrayDataset}.
   *
   * @param pixels N×H×W uint8 grayscale images (white item on black, as in the dataset)
   * @returns N×1×H×W float32, normalised
   */
  async normalize(pixels: Uint8Array): Promise<Float32Array> {
    const plane = this.info.channels * this.info.height * this.info.width;
    const count = pixels.length / plane;
    if (!Number.isInteger(count)) {
      throw new Error(
        `Cannot normalise ${pixels.length} pixels: not a whole number of ${this.info.height}×${this.info.width} images`,
      );
    }
    const ds = new ArrayDataset({ images: pixels, labels: new Uint8Array(count), count }, {
      info: this.info,
      split: "test",
    });
    return (await ds.load(Int32Array.from({ length: count }, (_, i) => i), { seed: 0, epoch: 0 }))
      .images;
  }

  /**
   * The trained model's logits and top class for normalised images.
   *
   * @param images N×1×28×28 float32, normalised (see {@link normalize})
   * @returns logits and top classes
   */
  async predict(images: Float32Array): Promise<Predictions> {
    const { channels: c, height: h, width: w, classes } = this.info;
    const n = images.length / (c * h * w);
    this.model.eval();
    let out: Tensor | undefined;
    try {
      const x = tensor(images, { shape: [n, c, h, w] });
      out = noGrad(() => this.model.forward(x));
      x.dispose();
      const logits = Float32Array.from(await out.data());
      return { logits, top: Array.from({ length: n }, (_, i) => argmaxRow(logits, i, classes)) };
    } finally {
      out?.dispose();
      this.model.train();
    }
  }

  /**
   * The trained model as ONNX (opset 17, `@agd/onnx-export`), with the
   * dataset's labels and normalisation in its metadata, as
   * `deno task export` writes it.
   *
   * @returns the .onnx file's bytes
   */
  async onnx(): Promise<Uint8Array> {
    const { depth, width, seed, gain } = this.settings;
    return await exportOnnx(this.model, {
      inputShape: [this.info.channels, this.info.height, this.info.width],
      arch: "fcn",
      dataset: this.info.name,
      metadata: {
        depth: String(depth),
        width: String(width),
        seed: String(seed),
        gain: String(gain),
        train_epoch: String(this.epochsDone),
        ...(this.records.length
          ? { train_test_acc: String(this.records[this.records.length - 1].test_acc) }
          : {}),
      },
    });
  }

  /**
   * The model as `deno task train` checkpoints it (apps/cli/checkpoint.ts):
   * safetensors with PyTorch `state_dict` names (`initial.weight`,
   * `layers.<i>.weight`, `final.weight`, float32) and the same metadata keys,
   * so `deno task export --checkpoint` and PyTorch's `load_state_dict` take
   * it. AGD has no optimizer state tensors.
   *
   * @returns the .safetensors file's bytes
   */
  async checkpoint(): Promise<Uint8Array> {
    const { depth, width, seed, gain } = this.settings;
    const metadata: Record<string, string> = {
      arch: "fcn",
      dataset: this.info.name,
      depth: String(depth),
      width: String(width),
      seed: String(seed),
      optimizer: "agd",
      gain: String(gain),
      epoch: String(this.epochsDone),
      step: String(this.#epochStep),
      global_step: String(this.globalStep),
      optimizer_step: String(this.#state.step),
    };
    return encodeSafetensors(await stateDict(this.model), { metadata });
  }

  /** Frees the model's and the optimizer's GPU memory. */
  dispose(): void {
    disposeState(this.#state);
    this.model.dispose();
  }
}
