/**
 * Neural-network composites built from primitives, so their gradients come
 * from the primitives' rules: batch norm, log-sum-exp, the two losses of the
 * AGD paper, accuracy and AGD's per-slice norms.
 *
 * @module
 */
import { noGrad, type Tensor } from "../tensor.ts";
import { apply } from "./_apply.ts";
import { add, div, exp, log, mul, sqrt, square, sub } from "./elementwise.ts";
import { max, mean, sum } from "./reduce.ts";
import { argmax } from "./reduce.ts";

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

/** log Σ exp(x) over the last axis (stable: the max is subtracted first). Shape [..]. */
export function logSumExp(x: Tensor): Tensor {
  const last = x.shape.length - 1;
  const m = noGrad(() => max(x, { axes: [last], keepDims: true }));
  const s = log(sum(exp(sub(x, m)), { axes: [last], keepDims: true }));
  return add(s, m).reshape(x.shape.slice(0, -1));
}

/** [N] int32 labels → [N, classes] float32 with `value` at each label. */
export function oneHot(labels: Tensor, classes: number, value = 1): Tensor {
  return apply("one_hot", [labels], { classes, value });
}

/**
 * The AGD paper's square loss: mean over batch and classes of
 * (f(x) − onehot(y)·√C)², C = number of classes. One fused op forward and
 * one backward (`mse_loss`, `mse_loss_grad`).
 */
export function mseLoss(logits: Tensor, labels: Tensor): Tensor {
  return apply("mse_loss", [logits, labels], { value: Math.sqrt(logits.shape[1]) });
}

/** Cross-entropy: mean over the batch of −f(x)[y] + logsumexp(f(x)). No smoothing. */
export function crossEntropyLoss(logits: Tensor, labels: Tensor): Tensor {
  const picked = sum(mul(logits, oneHot(labels, logits.shape[1])), { axes: [1] });
  return mean(sub(logSumExp(logits), picked));
}

/** Number of rows whose argmax equals the label, as a float32 scalar (no sync). */
export function countCorrect(logits: Tensor, labels: Tensor): Tensor {
  return noGrad(() => {
    const classes = logits.shape[1];
    return sum(mul(oneHot(argmax(logits), classes), oneHot(labels, classes)));
  });
}

/**
 * Frobenius norms of the [d0, d1] slices of a tensor: √Σ over dims (0, 1),
 * keeping them (shape [1, 1, kh, kw] for a conv weight, [1, 1] for a matrix).
 */
export function sliceNorms(x: Tensor): Tensor {
  return sqrt(sum(square(x), { axes: [0, 1], keepDims: true }));
}

/**
 * relu(x)·scale in one pass; the default √2 is the FCN activation of the AGD
 * paper (it keeps the second moment through relu).
 *
 * @param x input
 * @param scale multiplier of the positive part (default √2)
 * @returns max(x, 0)·scale
 * @example
 * ```ts
 * import { scaledRelu, tensor } from "@agd/tensor";
 * console.log(await scaledRelu(tensor([-1, 2]), 3).data()); // Float32Array [0, 6]
 * ```
 */
export function scaledRelu(x: Tensor, scale: number = Math.SQRT2): Tensor {
  return apply("scaled_relu", [x], { scale });
}
