/**
 * The building blocks of the AGD paper's networks: bias-free Linear and
 * Conv2d, non-affine BatchNorm, activations, pooling and containers.
 * Weights start with PyTorch's default init (uniform ±1/√fan_in, i.e.
 * kaiming_uniform with a = √5) — what the paper's baselines use; AGD re-inits
 * them with `agdInit`.
 *
 * @module
 */
import { type Backend, getBackend, ones, type Rng, tensor, zeros } from "@agd/tensor";
import {
  type BatchNormState,
  type BufferRef,
  type CounterRef,
  type LayerOps,
  Parameter,
  type Pool2dOptions,
} from "./layer_ops.ts";
import { Module } from "./module.ts";

/** Where a layer's tensors live and where its random init comes from. */
export interface LayerContext {
  /** Generator for the default init. */
  rng: Rng;
  /** Device (default: the current backend). */
  backend?: Backend;
}

function defaultInit(shape: number[], fanIn: number, ctx: LayerContext): Parameter["value"] {
  const bound = 1 / Math.sqrt(fanIn);
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(ctx.rng.uniforms(n, -bound, bound), {
    shape,
    backend: ctx.backend ?? getBackend(),
    requiresGrad: true,
  });
}

/**
 * y = x·Wᵀ, no bias. Weight `[out, in]`.
 *
 * @example
 * ```ts
 * import { Linear } from "@agd/models";
 * import { Rng, zeros } from "@agd/tensor";
 * const fc = new Linear(3, 2, { rng: new Rng(0) });
 * console.log(fc.weight.value.shape, fc.weight.layer); // [2, 3] { fanOut: 2, fanIn: 3, kernel: [1, 1] }
 * console.log(fc.forward(zeros([5, 3])).shape); // [5, 2]
 * ```
 */
export class Linear extends Module {
  /** The weight [out, in]. */
  readonly weight: Parameter;

  /**
   * Creates the weight with PyTorch's default init, declaring fan-out/fan-in
   * (kernel 1×1) so that AGD can scale its update without guessing from the
   * tensor's rank.
   *
   * @param inFeatures d_in
   * @param outFeatures d_out
   * @param ctx rng and backend
   */
  constructor(inFeatures: number, outFeatures: number, ctx: LayerContext) {
    super();
    this.weight = this.param(
      "weight",
      new Parameter(defaultInit([outFeatures, inFeatures], inFeatures, ctx), {
        fanOut: outFeatures,
        fanIn: inFeatures,
        kernel: [1, 1],
      }),
    );
  }

  /** x·Wᵀ. */
  call<T>(ops: LayerOps<T>, x: T): T {
    return ops.linear(x, this.weight);
  }
}

/** Options of {@link Conv2d}. */
export interface Conv2dOptions {
  /** Kernel size (square). */
  kernel: number;
  /** Stride (default 1). */
  stride?: number;
  /** Padding (default 0). */
  padding?: number;
}

/**
 * 2-D convolution, no bias. Weight `[out, in, k, k]`.
 *
 * @example
 * ```ts
 * import { Conv2d } from "@agd/models";
 * import { Rng, zeros } from "@agd/tensor";
 * const conv = new Conv2d(3, 8, { kernel: 3, stride: 2, padding: 1, rng: new Rng(0) });
 * console.log(conv.weight.value.shape); // [8, 3, 3, 3]
 * console.log(conv.forward(zeros([1, 3, 8, 8])).shape); // [1, 8, 4, 4]
 * ```
 */
export class Conv2d extends Module {
  /** The weight [out, in, k, k]. */
  readonly weight: Parameter;
  /** Stride [sh, sw]. */
  readonly stride: [number, number];
  /** Padding [ph, pw]. */
  readonly padding: [number, number];

  /**
   * Creates the weight with PyTorch's default init (fan-in = in·k·k),
   * declaring fan-out, fan-in and the k×k kernel for AGD.
   *
   * @param inChannels d_in
   * @param outChannels d_out
   * @param options kernel, stride, padding, and the layer context
   */
  constructor(inChannels: number, outChannels: number, options: Conv2dOptions & LayerContext) {
    super();
    const k = options.kernel;
    this.stride = [options.stride ?? 1, options.stride ?? 1];
    this.padding = [options.padding ?? 0, options.padding ?? 0];
    this.weight = this.param(
      "weight",
      new Parameter(defaultInit([outChannels, inChannels, k, k], inChannels * k * k, options), {
        fanOut: outChannels,
        fanIn: inChannels,
        kernel: [k, k],
      }),
    );
  }

  /** conv2d(x, W). */
  call<T>(ops: LayerOps<T>, x: T): T {
    return ops.conv2d(x, this.weight, { stride: this.stride, padding: this.padding });
  }
}

/**
 * BatchNorm2d(affine=False): momentum 0.1, eps 1e-5, as PyTorch.
 *
 * @example
 * ```ts
 * import { BatchNorm2d } from "@agd/models";
 * import { Rng, tensor } from "@agd/tensor";
 * const bn = new BatchNorm2d(2, { rng: new Rng(0) });
 * // Two samples of two channels of 1×2 pixels: channel means 3.5 and 5.5.
 * bn.forward(tensor([1, 2, 3, 4, 5, 6, 7, 8], { shape: [2, 2, 1, 2] }));
 * const mean = await bn.runningMean.value.data();
 * console.log(Array.from(mean, (m) => m.toFixed(2)), bn.numBatchesTracked.count); // ["0.35", "0.55"] 1
 * ```
 */
export class BatchNorm2d extends Module implements BatchNormState {
  /** Momentum of the running statistics. */
  readonly momentum = 0.1;
  /** ε. */
  readonly eps = 1e-5;
  /** running_mean [C], starts at 0. */
  readonly runningMean: BufferRef;
  /** running_var [C] (unbiased), starts at 1. */
  readonly runningVar: BufferRef;
  /** Batches seen in training mode. */
  readonly numBatchesTracked: CounterRef;

  /**
   * Creates the running statistics (mean 0, variance 1, no batches seen) on
   * `ctx.backend`. There is no weight or bias: the paper's networks use
   * non-affine BatchNorm, so AGD sees only conv and linear weights.
   *
   * @param channels C
   * @param ctx backend
   */
  constructor(channels: number, ctx: LayerContext) {
    super();
    const backend = ctx.backend ?? getBackend();
    this.runningMean = this.buffer("running_mean", {
      name: "",
      value: zeros([channels], { backend }),
    });
    this.runningVar = this.buffer("running_var", {
      name: "",
      value: ones([channels], { backend }),
    });
    this.numBatchesTracked = this.counter("num_batches_tracked", { name: "", count: 0 });
  }

  /** Normalise (batch or running statistics by mode). */
  call<T>(ops: LayerOps<T>, x: T): T {
    return ops.batchNorm(x, this);
  }
}

/**
 * max(x, 0).
 *
 * @example
 * ```ts
 * import { ReLU } from "@agd/models";
 * import { tensor } from "@agd/tensor";
 * console.log(await new ReLU().forward(tensor([-1, 2])).data()); // Float32Array [0, 2]
 * ```
 */
export class ReLU extends Module {
  /** relu(x). */
  call<T>(ops: LayerOps<T>, x: T): T {
    return ops.relu(x);
  }
}

/**
 * Max pooling with a square window.
 *
 * @example
 * ```ts
 * import { MaxPool2d } from "@agd/models";
 * import { tensor } from "@agd/tensor";
 * const pooled = new MaxPool2d({ kernel: 2 }).forward(tensor([1, 2, 3, 4], { shape: [1, 1, 2, 2] }));
 * console.log(pooled.shape, await pooled.data()); // [1, 1, 1, 1] Float32Array [4]
 * ```
 */
export class MaxPool2d extends Module {
  readonly #options: Pool2dOptions;

  /**
   * Sets the window; it has no weights, so it needs no layer context.
   *
   * @param options kernel, stride (default kernel), padding (default 0)
   */
  constructor(options: { kernel: number; stride?: number; padding?: number }) {
    super();
    const s = options.stride ?? options.kernel;
    const p = options.padding ?? 0;
    this.#options = { kernel: [options.kernel, options.kernel], stride: [s, s], padding: [p, p] };
  }

  /** maxPool2d(x). */
  call<T>(ops: LayerOps<T>, x: T): T {
    return ops.maxPool2d(x, this.#options);
  }
}

/**
 * A chain of modules named "0", "1", … like nn.Sequential.
 *
 * @example
 * ```ts
 * import { Linear, ReLU, Sequential } from "@agd/models";
 * import { Rng, zeros } from "@agd/tensor";
 * const rng = new Rng(0);
 * const mlp = new Sequential([new Linear(4, 8, { rng }), new ReLU(), new Linear(8, 2, { rng })]);
 * console.log(mlp.parameters().map((p) => p.name)); // ["0.weight", "2.weight"]
 * console.log(mlp.forward(zeros([3, 4])).shape); // [3, 2]
 * ```
 */
export class Sequential extends Module {
  readonly #layers: Module[];

  /**
   * Chains `layers`, naming them "0", "1", … so that their state-dict names
   * (`features.0.weight`) match PyTorch's.
   *
   * @param layers applied in order
   */
  constructor(layers: Module[]) {
    super();
    this.#layers = layers.map((m, i) => this.child(String(i), m));
  }

  /** The layers in order. */
  get layers(): readonly Module[] {
    return this.#layers;
  }

  /** Applies each layer in turn. */
  call<T>(ops: LayerOps<T>, x: T): T {
    return this.#layers.reduce((h, m) => m.call(ops, h), x);
  }
}
