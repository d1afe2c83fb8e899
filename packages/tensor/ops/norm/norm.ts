/**
 * Batch norm without affine parameters: training mode on the fused
 * primitives, the running statistics, and evaluation mode as a composite.
 *
 * @module
 */
import { noGrad, type Tensor } from "../../tensor.ts";
import { apply } from "../_apply.ts";
import { add, div, sqrt, sub } from "../elementwise/elementwise.ts";

/** Result of batch norm in training mode. */
export interface BatchNormTrain {
  /** Normalised output. */
  y: Tensor;
  /** Per-channel batch mean (row 0) and biased variance (row 1), shape [2, C]. */
  stats: Tensor;
}

/**
 * Batch norm without affine parameters using batch statistics (training mode):
 * y = (x − mean) / √(var + eps), biased variance over (N, H, W) — or over N for
 * 2-D input. Fused: one statistics pass (`bn_stats`) and one normalising pass
 * forward, one sums pass and one elementwise pass backward.
 *
 * @param x input [N, C, ...]
 * @param eps added to the variance (default 1e-5)
 * @returns y and the batch statistics
 * @example
 * ```ts
 * import { batchNormTrain, tensor } from "@agd/tensor";
 * const { y, stats } = batchNormTrain(tensor([1, 3], { shape: [2, 1] }), 0);
 * console.log(await y.data(), await stats.data()); // Float32Array [-1, 1] Float32Array [2, 1]
 * ```
 */
export function batchNormTrain(x: Tensor, eps = 1e-5): BatchNormTrain {
  // No gradient flows through stats: batch_norm's rule is the whole
  // gradient, the statistics' dependence on x included.
  const stats = noGrad(() => apply("bn_stats", [x], {}));
  return { y: apply("batch_norm", [x, stats], { eps }), stats };
}

/** How {@link updateRunningStat} blends a batch statistic in. */
export interface RunningStatOptions {
  /** Row of the statistics: 0 the mean, 1 the biased variance. */
  row: 0 | 1;
  /** Weight of the batch statistic (PyTorch's default 0.1). */
  momentum: number;
  /** Multiplies the batch statistic (M/(M − 1) for an unbiased variance; default 1). */
  correction?: number;
}

/**
 * A BatchNorm running statistic after one training batch (PyTorch's rule):
 * (1 − momentum)·running + momentum·correction·stats[row], in one dispatch.
 *
 * @param running the running mean or variance [C]
 * @param stats the batch statistics of {@link batchNormTrain}, [2, C]
 * @param options row, momentum, correction
 * @returns the new running statistic [C]
 * @example
 * ```ts
 * import { tensor, updateRunningStat } from "@agd/tensor";
 * const next = updateRunningStat(tensor([0]), tensor([2, 4], { shape: [2, 1] }), {
 *   row: 1,
 *   momentum: 0.5,
 * });
 * console.log(await next.data()); // Float32Array [2]
 * ```
 */
export function updateRunningStat(
  running: Tensor,
  stats: Tensor,
  options: RunningStatOptions,
): Tensor {
  return apply("bn_running", [running, stats], {
    row: options.row,
    momentum: options.momentum,
    correction: options.correction ?? 1,
  });
}

/**
 * Batch norm without affine parameters using given running statistics
 * (evaluation mode). `runningMean`/`runningVar` have shape [C].
 */
export function batchNormEval(
  x: Tensor,
  runningMean: Tensor,
  runningVar: Tensor,
  eps = 1e-5,
): Tensor {
  const shape = x.shape.length === 4 ? [1, -1, 1, 1] : [1, -1];
  return div(sub(x, runningMean.reshape(shape)), sqrt(add(runningVar.reshape(shape), eps)));
}
