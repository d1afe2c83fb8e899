/**
 * What a forward pass is written against: the layer-level operations
 * ({@link LayerOps}), implemented on tensors (tensor_ops.ts) and by the ONNX
 * graph builder, and the named state a module hands them — parameters with
 * the layer metadata AGD needs, buffers and counters.
 *
 * @module
 */
import type { LayerShape, ParamRef } from "@agd/agd";
import type { Tensor } from "@agd/tensor";

/**
 * A trainable weight with its state-dict name and layer metadata.
 *
 * @example
 * ```ts
 * import { Parameter } from "@agd/models";
 * import { zeros } from "@agd/tensor";
 * const p = new Parameter(zeros([4, 3]), { fanOut: 4, fanIn: 3, kernel: [1, 1] });
 * console.log(p.name, p.value.shape, p.layer.fanIn); // weight [4, 3] 3
 * ```
 */
export class Parameter implements ParamRef {
  /** Full state-dict name (assigned when the model's parameters are listed). */
  name: string;
  /** Current value (optimizers replace it). */
  value: Tensor;
  /** Fan-out, fan-in and kernel of the layer that owns this weight. */
  readonly layer: LayerShape;

  /**
   * Wraps a weight. Its name starts as `weight` and becomes the full
   * state-dict name (`layer1.0.conv1.weight`) when the model lists its
   * parameters.
   *
   * @param value the initial value (ownership moves here)
   * @param layer the owning layer's shape
   */
  constructor(value: Tensor, layer: LayerShape) {
    this.name = "weight";
    this.value = value;
    this.layer = layer;
  }
}

/** A non-trainable float32 state tensor such as a BatchNorm running mean. */
export interface BufferRef {
  /** Full state-dict name. */
  name: string;
  /** Current value (replaced on update). */
  value: Tensor;
}

/** A host-side integer state, saved as a PyTorch int64 scalar (num_batches_tracked). */
export interface CounterRef {
  /** Full state-dict name. */
  name: string;
  /** Current count. */
  count: number;
}

/** Pooling window as layers declare it. */
export interface Pool2dOptions {
  /** Window [kh, kw]. */
  kernel: readonly [number, number];
  /** Stride [sh, sw]. */
  stride: readonly [number, number];
  /** Padding [ph, pw]. */
  padding: readonly [number, number];
}

/**
 * The layer-level operations a forward pass is written in. `T` is a tensor
 * when training and a graph value name when exporting.
 */
export interface LayerOps<T> {
  /** x·Wᵀ for a Linear weight [out, in]. */
  linear(x: T, weight: Parameter): T;
  /** Conv2d without bias. */
  conv2d(
    x: T,
    weight: Parameter,
    options: { stride: [number, number]; padding: [number, number] },
  ): T;
  /** BatchNorm without affine; mode and statistics come from the module. */
  batchNorm(x: T, bn: BatchNormState): T;
  /** max(x, 0). */
  relu(x: T): T;
  /** x · factor. */
  scale(x: T, factor: number): T;
  /** max(x, 0) · factor, the fcn's activation (one fused op on tensors). */
  scaledRelu(x: T, factor: number): T;
  /** Max pooling. */
  maxPool2d(x: T, options: Pool2dOptions): T;
  /** Average pooling (padded zeros counted). */
  avgPool2d(x: T, options: Pool2dOptions): T;
  /** Average over all of H×W, giving [N, C, 1, 1]. */
  globalAvgPool2d(x: T): T;
  /** [N, ...] → [N, prod(...)]. */
  flatten(x: T): T;
  /** a + b (residual). */
  add(a: T, b: T): T;
}

/** What a BatchNorm exposes to {@link LayerOps}. */
export interface BatchNormState {
  /** Training (batch statistics) or evaluation (running statistics). */
  readonly training: boolean;
  /** Momentum of the running-statistics update (0.1). */
  readonly momentum: number;
  /** ε added to the variance (1e-5). */
  readonly eps: number;
  /** running_mean [C]. */
  readonly runningMean: BufferRef;
  /** running_var [C] (unbiased). */
  readonly runningVar: BufferRef;
  /** num_batches_tracked. */
  readonly numBatchesTracked: CounterRef;
}
