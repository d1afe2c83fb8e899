/**
 * Neural-network composites built from primitives, so their gradients come
 * from the primitives' rules: batch norm, log-sum-exp, the two losses of the
 * AGD paper, accuracy and AGD's per-slice norms.
 *
 * @module
 */
import { noGrad, type Tensor } from "../tensor.ts";
import { apply } from "./_apply.ts";
import { add, affine, div, exp, log, mul, sqrt, square, sub } from "./elementwise.ts";
import { max, mean, sum } from "./reduce.ts";
import { argmax } from "./reduce.ts";

/** Result of batch norm in training mode. */
export interface BatchNormTrain {
  /** Normalised output. */
  y: Tensor;
  /** Per-channel batch mean, shape [1, C, 1, 1]. */
  mean: Tensor;
  /** Per-channel biased batch variance, shape [1, C, 1, 1]. */
  variance: Tensor;
}

/**
 * Batch norm without affine parameters using batch statistics (training mode):
 * y = (x − mean) / √(var + eps), biased variance over (N, H, W) — or over N for 2-D input.
 */
export function batchNormTrain(x: Tensor, eps = 1e-5): BatchNormTrain {
  const axes = x.shape.length === 4 ? [0, 2, 3] : [0];
  const m = mean(x, { axes, keepDims: true });
  const centered = sub(x, m);
  const variance = mean(square(centered), { axes, keepDims: true });
  const y = div(centered, sqrt(add(variance, eps)));
  return { y, mean: m, variance };
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
 * (f(x) − onehot(y)·√C)², C = number of classes.
 */
export function mseLoss(logits: Tensor, labels: Tensor): Tensor {
  const classes = logits.shape[1];
  return mean(square(sub(logits, oneHot(labels, classes, Math.sqrt(classes)))));
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

/** relu(x)·√2, the FCN activation of the AGD paper (keeps the second moment). */
export function scaledRelu(x: Tensor): Tensor {
  return affine(apply("relu", [x], {}), { mul: Math.SQRT2 });
}
