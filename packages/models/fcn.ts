/**
 * The AGD paper's fully-connected network: flatten → Linear(d_in, width) →
 * [relu·√2 → Linear(width, width)] × (depth − 2) → relu·√2 → Linear(width, C).
 * The √2 keeps the activations' second moment through relu (SPEC "fcn").
 *
 * @module
 */
import { type LayerContext, Linear } from "./layers.ts";
import type { LayerOps } from "./layer_ops.ts";
import { Module } from "./module.ts";

/** Size of an {@link Fcn}. */
export interface FcnOptions {
  /** Number of Linear layers (≥ 2; paper default 10). */
  depth: number;
  /** Hidden width (default 256). */
  width: number;
  /** Flattened input size. */
  inputSize: number;
  /** Number of classes. */
  classes: number;
}

/**
 * Bias-free MLP with names `initial`, `layers.i`, `final` as the reference.
 *
 * @example
 * ```ts
 * import { Fcn } from "@agd/models";
 * import { Rng, zeros } from "@agd/tensor";
 * const fcn = new Fcn({ depth: 3, width: 16, inputSize: 784, classes: 10 }, { rng: new Rng(0) });
 * console.log(fcn.parameters().map((p) => p.name)); // ["initial.weight", "layers.0.weight", "final.weight"]
 * console.log(fcn.forward(zeros([2, 1, 28, 28])).shape); // [2, 10]
 * ```
 */
export class Fcn extends Module {
  /** First layer. */
  readonly initial: Linear;
  /** Hidden layers. */
  readonly layers: Linear[];
  /** Output layer. */
  readonly final: Linear;

  /**
   * Builds the layers with PyTorch's default init: `initial`, `layers.0` …
   * `layers.{depth−3}`, `final`, the reference's state-dict names.
   *
   * @param options depth, width, input size, classes
   * @param ctx rng and backend
   * @throws {Error} when depth is not an integer ≥ 2 or width not a positive integer
   */
  constructor(options: FcnOptions, ctx: LayerContext) {
    super();
    const { depth, width, inputSize, classes } = options;
    if (!(Number.isInteger(depth) && depth >= 2)) {
      throw new Error(`Cannot build fcn with --depth ${depth}: it must be an integer ≥ 2`);
    }
    if (!(Number.isInteger(width) && width >= 1)) {
      throw new Error(`Cannot build fcn with --width ${width}: it must be a positive integer`);
    }
    this.initial = this.child("initial", new Linear(inputSize, width, ctx));
    const list = this.child("layers", new ModuleList());
    this.layers = Array.from(
      { length: depth - 2 },
      (_, i) => list.add(String(i), new Linear(width, width, ctx)),
    );
    this.final = this.child("final", new Linear(width, classes, ctx));
  }

  /** Forward pass. */
  call<T>(ops: LayerOps<T>, x: T): T {
    const act = (h: T) => ops.scaledRelu(h, Math.SQRT2);
    let h = this.initial.call(ops, ops.flatten(x));
    for (const layer of this.layers) h = layer.call(ops, act(h));
    return this.final.call(ops, act(h));
  }
}

/** A named list of modules (nn.ModuleList); its forward is never called. */
class ModuleList extends Module {
  add<M extends Module>(name: string, m: M): M {
    return this.child(name, m);
  }

  call<T>(_ops: LayerOps<T>, x: T): T {
    return x;
  }
}
