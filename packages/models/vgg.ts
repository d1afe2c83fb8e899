/**
 * VGG for CIFAR (32×32 inputs), as the AGD reference uses it: each number in
 * the config is conv3×3 p1 → BatchNorm → relu, `M` is maxpool 2×2; then a
 * bias-free Linear(512, C). Names `features.<i>` and `classifier`.
 *
 * @module
 */
import {
  BatchNorm2d,
  Conv2d,
  type LayerContext,
  Linear,
  MaxPool2d,
  ReLU,
  Sequential,
} from "./layers.ts";
import type { LayerOps } from "./layer_ops.ts";
import { Module } from "./module.ts";

/** The VGG configurations (torchvision's A, B, D, E). */
export const VGG_CONFIGS: Record<"vgg11" | "vgg13" | "vgg16" | "vgg19", readonly (number | "M")[]> =
  {
    vgg11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    vgg13: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    vgg16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    vgg19: [
      64,
      64,
      "M",
      128,
      128,
      "M",
      256,
      256,
      256,
      256,
      "M",
      512,
      512,
      512,
      512,
      "M",
      512,
      512,
      512,
      512,
      "M",
    ],
  };

/** A VGG variant name. */
export type VggName = keyof typeof VGG_CONFIGS;

/**
 * VGG-11/13/16/19 for 3×32×32 images.
 *
 * @example
 * ```ts
 * import { parameterCount, Vgg } from "@agd/models";
 * import { Rng } from "@agd/tensor";
 * const vgg = new Vgg("vgg11", 10, { rng: new Rng(0) });
 * console.log(vgg.parameters().length, parameterCount(vgg)); // 9 9222848
 * vgg.dispose();
 * ```
 */
export class Vgg extends Module {
  /** Conv/BN/relu/pool stack. */
  readonly features: Sequential;
  /** Linear(512, C). */
  readonly classifier: Linear;

  /**
   * Builds `features` from {@link VGG_CONFIGS}[name] (each conv followed by a
   * non-affine BatchNorm and relu) and the `classifier`; five 2×2 pools bring
   * 32×32 down to 1×1, hence the classifier's 512 inputs.
   *
   * @param name vgg11 | vgg13 | vgg16 | vgg19
   * @param classes number of classes
   * @param ctx rng and backend
   */
  constructor(name: VggName, classes: number, ctx: LayerContext) {
    super();
    const layers = [];
    let channels = 3;
    for (const v of VGG_CONFIGS[name]) {
      if (v === "M") layers.push(new MaxPool2d({ kernel: 2, stride: 2 }));
      else {
        layers.push(
          new Conv2d(channels, v, { kernel: 3, padding: 1, ...ctx }),
          new BatchNorm2d(v, ctx),
          new ReLU(),
        );
        channels = v;
      }
    }
    this.features = this.child("features", new Sequential(layers));
    this.classifier = this.child("classifier", new Linear(512, classes, ctx));
  }

  /** Forward pass. */
  call<T>(ops: LayerOps<T>, x: T): T {
    return this.classifier.call(ops, ops.flatten(this.features.call(ops, x)));
  }
}
