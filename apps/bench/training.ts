/**
 * Samples/s of a full AGD training step (forward, backward, AGD update) on the
 * WebGPU backend, the JS thread's encode time per step beside the wall time,
 * and the GPU memory the step needs. The step is `trainStep` of @agd/agd, the
 * one apps/cli/train.ts runs (without the per-step statistics), fed from host
 * arrays uploaded every step as the loader's batches are.
 *
 * @module
 */
import { Agd, agdInit, disposeState, trainStep } from "@agd/agd";
import { createModel, DATASET_SHAPES } from "@agd/models";
import {
  affine,
  type Backend,
  backward,
  crossEntropyLoss,
  keep,
  mseLoss,
  Rng,
  type Tensor,
  tensor,
  tidy,
  type WebGpuBackend,
} from "@agd/tensor";
import { cpuUsage } from "node:process";
import { benchBackend } from "./backend.ts";
import { timeRepeated, type TimingOptions } from "./timing.ts";

/** One training configuration to time. */
export interface TrainCase {
  /** Row label, e.g. `fcn d10 w256 mnist`. */
  name: string;
  /** `fcn`, `vgg16`, `resnet18` or `resnet50`. */
  arch: string;
  /** Dataset whose input shape and classes the model takes. */
  dataset: string;
  /** Samples per step. */
  batch: number;
  /** FCN depth. */
  depth?: number;
  /** FCN width. */
  width?: number;
  /** `mse` (the reference default) or `xent` (the paper's ImageNet runs). */
  loss?: "mse" | "xent";
  /**
   * Re-initialise with AGD's orthogonal init (default true). It is a QR per
   * slice on the host — minutes for a 2048×3072 weight — and the step's cost
   * does not depend on the weights' values, so big models skip it.
   */
  agdInit?: boolean;
}

/**
 * How a step is run, for measuring what each design choice gains (see
 * gains.ts): the backend (its kernel variants, caches and batching), the AGD
 * implementation, and whether the loop reads a value back every step.
 */
export interface StepSetup {
  /**
   * The backend to train on (default: the shared, autotuned WebGPU backend).
   * Another backend (wasm) reports no dispatch or submit counts.
   */
  backend?: Backend;
  /** AGD as its fused ops (default true) or as elementwise ops (`Agd`'s `fused: false`). */
  fusedAgd?: boolean;
  /** Wait for η after every step, as a loop that logs it each step would (default false). */
  readEveryStep?: boolean;
}

/** What {@link benchTrainStep} measured for one {@link TrainCase}. */
export interface TrainResult {
  /** The case's label. */
  name: string;
  /** Samples per step. */
  batch: number;
  /** Timed steps. */
  steps: number;
  /** Samples per second of wall time. */
  samplesPerSec: number;
  /** Wall milliseconds per step. */
  wallMs: number;
  /** Milliseconds per step the JS thread spent issuing it (CPU encode). */
  encodeMs: number;
  /**
   * Encode milliseconds per timed step by phase: uploading the batch (with
   * any submit the upload forces), recording forward + loss + backward, and
   * the AGD update. Time the JS thread is blocked inside a submit counts.
   */
  phases: { uploadMs: number; gradMs: number; agdMs: number };
  /** Compute dispatches per step (absent in results written before the backend counted them). */
  dispatches?: number;
  /**
   * Milliseconds per step inside `queue.submit`, where the backend counts
   * them: on a software adapter the driver runs work there, so this part of
   * the encode time is really GPU time spent on the JS thread.
   */
  submitMs?: number;
  /**
   * CPU milliseconds per step of all the process's threads. On a software
   * adapter that includes the "GPU" work, and unlike wall time it hardly
   * depends on other processes sharing the cores.
   */
  processCpuMs?: number;
  /** Bytes of the weights. */
  weightBytes: number;
  /**
   * Peak GPU storage-buffer bytes of the run: the backend's pool is emptied
   * before the model is built and never frees during it, so live plus pooled
   * bytes afterwards is the high-water mark (textures, used by the texture
   * kernel variants as scratch, are not counted).
   */
  peakBytes: number;
  /** η of the first timed step's predecessor, read once (a sanity check: finite, > 0). */
  eta: number;
  /**
   * Wall milliseconds of the AGD step alone (norms, G, η, update of every
   * weight), measured on fixed gradients: AGD steps fed copies of them, minus
   * the copies alone.
   */
  agdStepMs: number;
}

/**
 * Wall ms of one AGD step on `params`' current gradients: `k` steps, each on a
 * fresh copy of the gradients (a step consumes them), minus `k` copies alone.
 */
async function timeAgdStep(
  params: ReturnType<ReturnType<typeof createModel>["parameters"]>,
  options: TimingOptions,
  fused: boolean,
): Promise<number> {
  const grads = params.map((p) => p.value.grad!);
  params.forEach((p) => (p.value.grad = null));
  const agd = new Agd({ fused });
  let last: Tensor | undefined;
  const run = (withStep: boolean) => () => {
    const copies = grads.map((g) => keep(affine(g, { mul: 1 })));
    if (!withStep) {
      last?.dispose();
      last = copies.pop();
      copies.forEach((c) => c.dispose());
      return;
    }
    params.forEach((p, i) => (p.value.grad = copies[i]));
    last?.dispose();
    last = agd.step(params);
  };
  const wait = async () => void (await last!.data());
  try {
    const copiesOnly = await timeRepeated(run(false), wait, options);
    const withStep = await timeRepeated(run(true), wait, options);
    return Math.max(withStep.wallMs - copiesOnly.wallMs, 0);
  } finally {
    last?.dispose();
    grads.forEach((g) => g.dispose());
  }
}

/** Host arrays of a few synthetic batches for `shape` (their values do not change the timing). */
export function syntheticBatches(
  dataset: string,
  batch: number,
  count = 2,
  seed = 1,
): { x: Float32Array; y: Int32Array; shape: [number, number, number, number] }[] {
  const { input, classes } = DATASET_SHAPES[dataset];
  const rng = new Rng(seed);
  const shape: [number, number, number, number] = [batch, ...input];
  return Array.from({ length: count }, () => ({
    x: rng.normals(batch * input[0] * input[1] * input[2]),
    y: Int32Array.from({ length: batch }, () => rng.int(classes)),
    shape,
  }));
}

/**
 * Times the training step of one configuration on the WebGPU backend.
 *
 * @param c architecture, dataset, batch (and FCN size)
 * @param options warm-up steps, target seconds and step-count bounds
 * @param setup backend, AGD implementation and per-step reads (default: as shipped)
 * @returns samples/s, wall and encode ms per step, weight and peak bytes
 * @example
 * ```ts ignore
 * import { benchTrainStep } from "./training.ts";
 * const r = await benchTrainStep(
 *   { name: "fcn", arch: "fcn", dataset: "mnist", batch: 8, depth: 3, width: 16 },
 *   { seconds: 0.1 },
 * );
 * console.log(r.samplesPerSec > 0); // true
 * ```
 */
export async function benchTrainStep(
  c: TrainCase,
  options: TimingOptions = {},
  setup: StepSetup = {},
): Promise<TrainResult> {
  // Ops run on their inputs' backend: the model and batches name this one.
  const backend = setup.backend ?? await benchBackend();
  const fused = setup.fusedAgd ?? true;
  const gpu = "counters" in backend ? backend as WebGpuBackend : undefined;
  // Start from an empty pool so that what the pool holds afterwards is this model's peak.
  gpu?.trim();
  const model = createModel(c.arch, c.dataset, {
    depth: c.depth,
    width: c.width,
    seed: 0,
    backend,
  });
  const params = model.parameters();
  if (c.agdInit ?? true) agdInit(params, { seed: 0 });
  const weightBytes = params.reduce((n, p) => n + p.value.size * 4, 0);
  const optimizer = new Agd({ fused });
  // The trainer's step without its statistics (the loss × batch size and the
  // correct count), as the peers run it.
  const step = {
    forward: (x: Tensor) => model.forward(x),
    loss: (c.loss ?? "mse") === "mse" ? mseLoss : crossEntropyLoss,
    params,
    optimizer,
    stats: false,
  } as const;
  let state = optimizer.init(params);
  const batches = syntheticBatches(c.dataset, c.batch);
  let next = 0;
  let eta: Tensor | undefined;
  let firstEta: Promise<number> | undefined;
  const phases = { uploadMs: 0, gradMs: 0, agdMs: 0 };
  const issue = async (): Promise<void> => {
    const t0 = performance.now();
    const b = batches[next++ % batches.length];
    const x = tensor(b.x, { shape: b.shape, backend });
    const y = tensor(b.y, { backend });
    const t1 = performance.now();
    let t2 = t1;
    // The hook between backward and the update marks where recording the
    // gradients ended; the batch is freed there, as before the AGD update.
    const backwardDone = () => {
      x.dispose();
      y.dispose();
      t2 = performance.now();
    };
    const previous = eta;
    ({ eta, state } = await trainStep(step, { x, y, state, sync: { done: backwardDone } }));
    // Reading η of the first step queues one copy; the loop itself never waits.
    if (!firstEta) firstEta = eta.item();
    previous?.dispose();
    phases.uploadMs += t1 - t0;
    phases.gradMs += t2 - t1;
    phases.agdMs += performance.now() - t2;
    if (setup.readEveryStep) await eta.item();
  };
  // Every wait closes a segment of steps; timeRepeated's last wait follows
  // exactly the timed steps, so the last segment is theirs.
  const noCounters = { dispatches: NaN, submitMs: NaN };
  const mark = () => ({ step: next, counters: gpu?.counters() ?? noCounters, cpu: cpuUsage() });
  let segmentStart = mark();
  let timed = { steps: 1, uploadMs: 0, gradMs: 0, agdMs: 0, dispatches: 0, submitMs: 0, cpuMs: 0 };
  const wait = async () => {
    await eta!.item();
    const end = mark();
    const cpu = cpuUsage(segmentStart.cpu);
    timed = {
      steps: end.step - segmentStart.step,
      ...phases,
      dispatches: end.counters.dispatches - segmentStart.counters.dispatches,
      submitMs: end.counters.submitMs - segmentStart.counters.submitMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
    };
    segmentStart = end;
    phases.uploadMs = phases.gradMs = phases.agdMs = 0;
  };
  try {
    const timing = await timeRepeated(issue, wait, options);
    const memory = backend.memory();
    // One more forward + backward leaves gradients for the AGD-only timing.
    eta?.dispose();
    eta = undefined;
    const b = batches[0];
    const [x, y] = [tensor(b.x, { shape: b.shape, backend }), tensor(b.y, { backend })];
    tidy(() => backward(step.loss(model.forward(x), y)));
    x.dispose();
    y.dispose();
    const agdStepMs = await timeAgdStep(params, { warmup: 1, seconds: 0.5, minCount: 2 }, fused);
    const perStep = (x: number) => x / timed.steps;
    return {
      name: c.name,
      batch: c.batch,
      steps: timing.count,
      samplesPerSec: (c.batch * 1000) / timing.wallMs,
      wallMs: timing.wallMs,
      encodeMs: timing.encodeMs,
      phases: {
        uploadMs: timed.uploadMs / timed.steps,
        gradMs: timed.gradMs / timed.steps,
        agdMs: timed.agdMs / timed.steps,
      },
      ...(gpu ? { dispatches: perStep(timed.dispatches), submitMs: perStep(timed.submitMs) } : {}),
      processCpuMs: perStep(timed.cpuMs),
      weightBytes,
      peakBytes: memory.bytesInUse + memory.bytesPooled,
      eta: await firstEta!,
      agdStepMs,
    };
  } finally {
    eta?.dispose();
    disposeState(state);
    model.dispose();
  }
}
