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
 * This module holds the trainer and its epoch loop; its parts are the data
 * (`_idx_data.ts`), the progress figures (`_progress.ts`), evaluation and
 * prediction (`_inference.ts`) and the files (`_model_files.ts`), whose
 * public names it re-exports for the page.
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
import { ArrayDataset, createLoader, type DatasetInfo } from "@agd/datasets/memory";
import { createModel, type Module } from "@agd/models";
import { mseLoss, tensor, useWasm, useWebGPU } from "@agd/tensor";
import { StepStats } from "@agd/cli/step_stats";
import { firstSamples, type IdxData } from "./_idx_data.ts";
import { evaluateModel, normalizeImages, predictImages, type Predictions } from "./_inference.ts";
import { checkpointFile, onnxFile, type RunInfo } from "./_model_files.ts";
import { EpochProgress, type EpochRecord, type TrainCallbacks, TrainClock } from "./_progress.ts";

export { IDX_FILES, type IdxData, idxData, type IdxDatasetName, maybeGunzip } from "./_idx_data.ts";
export type { Predictions } from "./_inference.ts";
export type { EpochRecord, ProgressPoint, TestPoint, TrainCallbacks } from "./_progress.ts";

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

/**
 * Makes the fast CPU backend (WebAssembly SIMD) the backend of new tensors:
 * on every core where the page is cross-origin isolated (SharedArrayBuffer),
 * on one thread elsewhere.
 *
 * @returns its description, e.g. `wasm (WebAssembly SIMD, 4 threads)`
 */
export async function openWasm(): Promise<string> {
  return (await useWasm()).description;
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
    const clock = new TrainClock(); // excluding evaluations
    let trainedSamples = 0;
    const shape = [this.info.channels, this.info.height, this.info.width];
    for (let epoch = this.epochsDone; epoch < epochs; epoch++) {
      loader.epoch = epoch;
      const epochStart = performance.now();
      const secondsBefore = clock.seconds;
      const stats = new StepStats();
      const reads: Promise<void>[] = [];
      const progress = new EpochProgress({
        epoch,
        epochs,
        stepsPerEpoch: perEpoch,
        trainLength: this.train.length,
        trainedBefore: trainedSamples,
        clock,
        onProgress: (point) => callbacks.onProgress?.(point),
      });
      let step = 0;
      let samples = 0;
      clock.restart();
      let lastYield = performance.now();
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
            reads.push(stats.read().then((v) => progress.report(v, n, k)));
            // Wait for the previous period's read only: the GPU keeps one period queued.
            if (reads.length > 1) await reads[reads.length - 2];
          }
          if (progress.nonFinite) {
            throw new Error(`Stopped at epoch ${epoch + 1}, step ${step}: ${progress.nonFinite}`);
          }
          if (testEvery && step % testEvery === 0 && step < perEpoch) {
            await Promise.all(reads);
            clock.lap();
            const t = await this.evaluate();
            clock.restart();
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
        if (progress.nonFinite) {
          throw new Error(`Stopped at epoch ${epoch + 1}, step ${step}: ${progress.nonFinite}`);
        }
        const total = await stats.read();
        clock.lap();
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
          samples_per_s: samples / Math.max(clock.seconds - secondsBefore, 1e-9),
          seconds: (performance.now() - epochStart) / 1000,
        };
        this.epochsDone = epoch + 1;
        this.#epochStep = 0;
        this.records.push(record);
        done.push(record);
        callbacks.onEpoch?.(record);
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
  evaluate(): Promise<{ loss: number; acc: number }> {
    return evaluateModel(this.model, this.test, {
      batchSize: this.settings.testBs,
      seed: this.settings.seed,
    });
  }

  /**
   * Normalises 28×28 grayscale pixels as the dataset's transform does
   * (ToTensor, then Normalize with the dataset's mean and std): the very
   * transform of the training batches, through an {@link ArrayDataset}.
   *
   * @param pixels N×H×W uint8 grayscale images (white item on black, as in the dataset)
   * @returns N×1×H×W float32, normalised
   */
  normalize(pixels: Uint8Array): Promise<Float32Array> {
    return normalizeImages(this.info, pixels);
  }

  /**
   * The trained model's logits and top class for normalised images.
   *
   * @param images N×1×28×28 float32, normalised (see {@link normalize})
   * @returns logits and top classes
   */
  predict(images: Float32Array): Promise<Predictions> {
    return predictImages(this.model, this.info, images);
  }

  /**
   * The trained model as ONNX (opset 17, `@agd/onnx-export`), with the
   * dataset's labels and normalisation in its metadata, as
   * `deno task export` writes it.
   *
   * @returns the .onnx file's bytes
   */
  onnx(): Promise<Uint8Array> {
    const last = this.records[this.records.length - 1];
    return onnxFile(this.model, this.#run(), last?.test_acc);
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
  checkpoint(): Promise<Uint8Array> {
    return checkpointFile(this.model, {
      ...this.#run(),
      epochStep: this.#epochStep,
      globalStep: this.globalStep,
      optimizerStep: this.#state.step,
    });
  }

  /** Frees the model's and the optimizer's GPU memory. */
  dispose(): void {
    disposeState(this.#state);
    this.model.dispose();
  }

  /** The run as the files' metadata describe it. */
  #run(): RunInfo {
    const { depth, width, seed, gain } = this.settings;
    return { info: this.info, depth, width, seed, gain, epochsDone: this.epochsDone };
  }
}
