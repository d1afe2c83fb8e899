/**
 * {@link LayerOps} on tensors: what `model.forward(x)` runs. BatchNorm in
 * training mode also updates the running statistics (PyTorch's rule: momentum
 * 0.1, unbiased variance), on the GPU and without autograd.
 *
 * @module
 */
import {
  add,
  avgPool2d,
  batchNormEval,
  batchNormTrain,
  conv2d,
  flatten,
  globalAvgPool2d,
  keep,
  linear,
  maxPool2d,
  mul,
  noGrad,
  relu,
  scaledRelu,
  type Tensor,
  updateRunningStat,
} from "@agd/tensor";
import type { BatchNormState, BufferRef, LayerOps } from "./layer_ops.ts";

function lerpInto(
  buffer: BufferRef,
  stats: Tensor,
  row: 0 | 1,
  momentum: number,
  correction = 1,
): void {
  const next = updateRunningStat(buffer.value, stats, { row, momentum, correction });
  buffer.value.dispose();
  buffer.value = keep(next);
}

/** Runs layers as tensor ops. */
export const tensorOps: LayerOps<Tensor> = {
  linear: (x, w) => linear(x, w.value),
  conv2d: (x, w, options) => conv2d(x, w.value, options),
  batchNorm(x: Tensor, bn: BatchNormState): Tensor {
    if (!bn.training) return batchNormEval(x, bn.runningMean.value, bn.runningVar.value, bn.eps);
    const { y, stats } = batchNormTrain(x, bn.eps);
    const count = x.size / x.shape[1];
    noGrad(() => {
      lerpInto(bn.runningMean, stats, 0, bn.momentum);
      lerpInto(bn.runningVar, stats, 1, bn.momentum, count / Math.max(count - 1, 1));
    });
    bn.numBatchesTracked.count++;
    return y;
  },
  relu: (x) => relu(x),
  scale: (x, factor) => mul(x, factor),
  scaledRelu: (x, factor) => scaledRelu(x, factor),
  maxPool2d: (x, o) => maxPool2d(x, { kernel: o.kernel, stride: o.stride, padding: o.padding }),
  avgPool2d: (x, o) => avgPool2d(x, { kernel: o.kernel, stride: o.stride, padding: o.padding }),
  globalAvgPool2d: (x) => globalAvgPool2d(x),
  flatten: (x) => flatten(x),
  add: (a, b) => add(a, b),
};
