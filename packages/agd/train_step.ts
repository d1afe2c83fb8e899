/**
 * One training step — forward, loss, backward, the optimizer's update — as
 * the trainer, the benchmarks and the distributed code all run it, with the
 * statistics a trainer logs (the loss × batch size, the correct count, η)
 * left on the GPU as tensors: nothing is read back, so a step never waits for
 * the GPU.
 *
 * @module
 */
import { backward, countCorrect, mul, type Tensor, tidy } from "@agd/tensor";
import type { Optimizer, OptimizerState, OptimizerStep } from "./optimizer.ts";
import type { ParamRef } from "./param.ts";

/**
 * A hook around backward for averaging gradients over processes;
 * packages/distributed's `GradientSync` is one.
 */
export interface GradientHook {
  /**
   * Called inside the step's scope just before backward, to start reducing
   * gradients as backward produces them. Optional: without it the reduction
   * starts after backward.
   */
  watch?(): void;
  /** Awaited after backward, before the update: the gradients are final once it resolves. */
  done(): Promise<void> | void;
}

/** What {@link trainStep} trains: the same for every step of a run. */
export interface TrainSetup {
  /** The forward pass: the logits of a batch, e.g. `(x) => model.forward(x)`. */
  forward: (x: Tensor) => Tensor;
  /** The batch's mean loss from logits and labels (`mseLoss`, `crossEntropyLoss`). */
  loss: (logits: Tensor, labels: Tensor) => Tensor;
  /** The weights the optimizer updates (their values are replaced every step). */
  params: ParamRef[];
  /** The update rule. */
  optimizer: Optimizer;
  /**
   * Compute the loss × batch size and the correct count (default true). The
   * benchmarks time the step without them, as the peers they compare with.
   */
  stats?: boolean;
}

/** One step's inputs. */
export interface StepInput {
  /** The batch, `[B, …]` float32. */
  x: Tensor;
  /** Its labels, `[B]` int32. */
  y: Tensor;
  /** The optimizer state before the step; consumed (see {@link Optimizer.update}). */
  state: OptimizerState;
  /** Gradient averaging over ranks (`--distribute`), or none. */
  sync?: GradientHook;
}

/** What a step gives besides η and the state: GPU scalars the caller owns. */
export interface StepStats {
  /** The batch's mean loss × its size: summed over an epoch, the loss of every sample. */
  lossSum: Tensor;
  /** Predictions equal to the label (argmax of the logits). */
  correct: Tensor;
}

/**
 * Runs one training step without statistics (`stats: false`).
 *
 * @param setup forward pass, loss, weights and optimizer, with `stats: false`
 * @param input the batch, the optimizer state and the gradient hook
 * @returns η (the caller disposes it) and the next optimizer state
 * @example
 * ```ts
 * import { createModel } from "@agd/models";
 * import { mseLoss, Rng, tensor } from "@agd/tensor";
 * import { Agd, agdInit, trainStep } from "@agd/agd";
 * const rng = new Rng(0);
 * const x = tensor(rng.uniforms(8 * 28 * 28), { shape: [8, 1, 28, 28] });
 * const y = tensor(Int32Array.from({ length: 8 }, (_, i) => i % 10));
 * const model = createModel("fcn", "mnist", { depth: 3, width: 16 });
 * const params = model.parameters();
 * agdInit(params, { seed: 0 });
 * const optimizer = new Agd();
 * const forward = (t: typeof x) => model.forward(t);
 * const step = await trainStep({ forward, loss: mseLoss, params, optimizer, stats: false }, {
 *   x,
 *   y,
 *   state: optimizer.init(params),
 * });
 * console.log(step.state.step, (await step.eta.item()) > 0, "lossSum" in step); // 1 true false
 * ```
 */
export function trainStep(
  setup: TrainSetup & { stats: false },
  input: StepInput,
): Promise<OptimizerStep>;
/**
 * Runs one training step: forward and loss inside a scope that frees every
 * intermediate, `sync.watch()` just before backward, `await sync.done()`
 * before the update, then the optimizer's update. Returns, as GPU tensors the
 * caller disposes, η, the loss × batch size and the correct count; nothing is
 * read back.
 *
 * @param setup forward pass, loss, weights and optimizer
 * @param input the batch, the optimizer state and the gradient hook
 * @returns η, the statistics and the next optimizer state
 * @example
 * ```ts
 * import { createModel } from "@agd/models";
 * import { cpu, mseLoss, Rng, setBackend, tensor } from "@agd/tensor";
 * import { Agd, agdInit, trainStep, type TrainSetup } from "@agd/agd";
 * setBackend(cpu());
 * const rng = new Rng(0);
 * const x = tensor(rng.uniforms(8 * 28 * 28), { shape: [8, 1, 28, 28] });
 * const y = tensor(Int32Array.from({ length: 8 }, (_, i) => i % 10));
 * const model = createModel("fcn", "mnist", { depth: 3, width: 16 });
 * const params = model.parameters();
 * agdInit(params, { seed: 0 });
 * const optimizer = new Agd();
 * const setup: TrainSetup = { forward: (t) => model.forward(t), loss: mseLoss, params, optimizer };
 * const { eta, lossSum, correct, state } = await trainStep(setup, {
 *   x,
 *   y,
 *   state: optimizer.init(params),
 * });
 * console.log(state.step, (await eta.item()) > 0, (await lossSum.item()) > 0); // 1 true true
 * console.log((await correct.item()) <= 8); // true
 * ```
 */
export function trainStep(
  setup: TrainSetup,
  input: StepInput,
): Promise<OptimizerStep & StepStats>;
export async function trainStep(
  setup: TrainSetup,
  input: StepInput,
): Promise<OptimizerStep & Partial<StepStats>> {
  const { x, y, sync } = input;
  const stats = tidy(() => {
    const logits = setup.forward(x);
    const loss = setup.loss(logits, y);
    sync?.watch?.();
    backward(loss);
    if (setup.stats === false) return {};
    return { lossSum: mul(loss, x.shape[0]), correct: countCorrect(logits, y) };
  });
  await sync?.done();
  return { ...setup.optimizer.update(setup.params, input.state), ...stats };
}
