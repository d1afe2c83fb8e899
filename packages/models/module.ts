/**
 * The module system: named parameters (with the layer metadata AGD needs),
 * named buffers, train/eval mode, and one forward definition per module
 * written against {@link LayerOps}. Running it with tensor ops trains the model;
 * running it with a graph builder exports it (packages/onnx-export), so the
 * architecture is described exactly once.
 *
 * @module
 */
import type { LayerShape, ParamRef } from "@agd/agd";
import type { Tensor } from "@agd/tensor";
import { tensorOps } from "./tensor_ops.ts";

/** A trainable weight with its state-dict name and layer metadata. */
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

/** A node of the model tree. */
export abstract class Module {
  /** Training mode (BatchNorm uses batch statistics and updates running ones). */
  training = true;
  readonly #children: [string, Module][] = [];
  readonly #params: [string, Parameter][] = [];
  readonly #buffers: [string, BufferRef][] = [];
  readonly #counters: [string, CounterRef][] = [];

  /** The forward pass, written once against {@link LayerOps}. */
  abstract call<T>(ops: LayerOps<T>, x: T): T;

  /** Runs the forward pass on tensors (training or evaluation by mode). */
  forward(x: Tensor): Tensor {
    return this.call(tensorOps, x);
  }

  /** Registers a child module under `name` (state-dict prefix). */
  protected child<M extends Module>(name: string, module: M): M {
    this.#children.push([name, module]);
    return module;
  }

  /** Registers a parameter under `name`. */
  protected param(name: string, p: Parameter): Parameter {
    this.#params.push([name, p]);
    return p;
  }

  /** Registers a buffer under `name`. */
  protected buffer(name: string, b: BufferRef): BufferRef {
    this.#buffers.push([name, b]);
    return b;
  }

  /** Registers a counter under `name`. */
  protected counter(name: string, c: CounterRef): CounterRef {
    this.#counters.push([name, c]);
    return c;
  }

  /** Direct children with their names. */
  children(): readonly [string, Module][] {
    return this.#children;
  }

  /** Every parameter in state-dict order, with full names assigned. */
  parameters(prefix = ""): Parameter[] {
    const out: Parameter[] = [];
    for (const [name, p] of this.#params) {
      p.name = prefix + name;
      out.push(p);
    }
    for (const [name, m] of this.#children) out.push(...m.parameters(`${prefix}${name}.`));
    return out;
  }

  /** Every buffer in state-dict order, with full names assigned. */
  buffers(prefix = ""): BufferRef[] {
    const out: BufferRef[] = [];
    for (const [name, b] of this.#buffers) {
      b.name = prefix + name;
      out.push(b);
    }
    for (const [name, m] of this.#children) out.push(...m.buffers(`${prefix}${name}.`));
    return out;
  }

  /** Every counter in state-dict order, with full names assigned. */
  counters(prefix = ""): CounterRef[] {
    const out: CounterRef[] = [];
    for (const [name, c] of this.#counters) {
      c.name = prefix + name;
      out.push(c);
    }
    for (const [name, m] of this.#children) out.push(...m.counters(`${prefix}${name}.`));
    return out;
  }

  /** Sets training (true) or evaluation (false) mode on the whole tree. */
  train(mode = true): this {
    this.training = mode;
    for (const [, m] of this.#children) m.train(mode);
    return this;
  }

  /** Evaluation mode: BatchNorm uses running statistics. */
  eval(): this {
    return this.train(false);
  }

  /** Frees every parameter and buffer tensor. */
  dispose(): void {
    for (const p of this.parameters()) {
      p.value.grad?.dispose();
      p.value.dispose();
    }
    for (const b of this.buffers()) b.value.dispose();
  }
}
