/**
 * ResNets of the AGD paper: pre-activation ResNet-18/50 for CIFAR (as in
 * kuangliu/pytorch-cifar, which the reference uses) and torchvision's v1.5
 * ResNet-50 for ImageNet — all bias-free with non-affine BatchNorm.
 *
 * @module
 */
import { BatchNorm2d, Conv2d, type LayerContext, Linear, MaxPool2d, Sequential } from "./layers.ts";
import type { LayerOps } from "./layer_ops.ts";
import { Module } from "./module.ts";

function conv(
  cin: number,
  cout: number,
  kernel: number,
  stride: number,
  ctx: LayerContext,
): Conv2d {
  return new Conv2d(cin, cout, { kernel, stride, padding: (kernel - 1) >> 1, ...ctx });
}

/**
 * A residual block mapping `inPlanes` to `planes·expansion` channels. Stages
 * chain blocks by reading `outPlanes`, so one stage builder serves the basic
 * block (expansion 1) and the bottlenecks (expansion 4).
 */
export interface ResidualBlock extends Module {
  /** Channels of the block's output: the next block's `inPlanes`. */
  readonly outPlanes: number;
}

/**
 * Pre-activation basic block: bn1 → relu → conv1 → bn2 → relu → conv2, plus shortcut.
 *
 * @example
 * ```ts
 * import { PreActBlock } from "@agd/models";
 * import { Rng, zeros } from "@agd/tensor";
 * const block = new PreActBlock(4, 8, 2, { rng: new Rng(0) });
 * console.log(block.outPlanes, block.parameters().map((p) => p.name)); // 8 ["conv1.weight", "conv2.weight", "shortcut.0.weight"]
 * console.log(block.forward(zeros([1, 4, 8, 8])).shape); // [1, 8, 4, 4]
 * ```
 */
export class PreActBlock extends Module implements ResidualBlock {
  /** Output channels. */
  readonly outPlanes: number;
  readonly #bn1: BatchNorm2d;
  readonly #conv1: Conv2d;
  readonly #bn2: BatchNorm2d;
  readonly #conv2: Conv2d;
  readonly #shortcut?: Sequential;

  /**
   * Creates the block's weights (children `bn1`, `conv1`, `bn2`, `conv2`, and
   * `shortcut.0` — a 1×1 conv — only when the stride or width changes).
   *
   * @param inPlanes input channels
   * @param planes output channels
   * @param stride stride of conv1 and the shortcut
   * @param ctx rng and backend
   */
  constructor(inPlanes: number, planes: number, stride: number, ctx: LayerContext) {
    super();
    this.outPlanes = planes;
    this.#bn1 = this.child("bn1", new BatchNorm2d(inPlanes, ctx));
    this.#conv1 = this.child("conv1", conv(inPlanes, planes, 3, stride, ctx));
    this.#bn2 = this.child("bn2", new BatchNorm2d(planes, ctx));
    this.#conv2 = this.child("conv2", conv(planes, planes, 3, 1, ctx));
    if (stride !== 1 || inPlanes !== planes) {
      this.#shortcut = this.child(
        "shortcut",
        new Sequential([conv(inPlanes, planes, 1, stride, ctx)]),
      );
    }
  }

  /** Forward pass; the shortcut conv sees relu(bn1(x)). */
  call<T>(ops: LayerOps<T>, x: T): T {
    const pre = ops.relu(this.#bn1.call(ops, x));
    const shortcut = this.#shortcut ? this.#shortcut.call(ops, pre) : x;
    const h = this.#conv1.call(ops, pre);
    return ops.add(this.#conv2.call(ops, ops.relu(this.#bn2.call(ops, h))), shortcut);
  }
}

/**
 * Pre-activation bottleneck (expansion 4): 1×1 → 3×3 (stride) → 1×1, each after bn → relu.
 *
 * @example
 * ```ts
 * import { PreActBottleneck } from "@agd/models";
 * import { Rng, zeros } from "@agd/tensor";
 * const block = new PreActBottleneck(8, 4, 1, { rng: new Rng(0) });
 * console.log(block.outPlanes, block.parameters().length); // 16 4
 * console.log(block.forward(zeros([1, 8, 4, 4])).shape); // [1, 16, 4, 4]
 * ```
 */
export class PreActBottleneck extends Module implements ResidualBlock {
  /** Output channels (planes·4). */
  readonly outPlanes: number;
  readonly #bns: BatchNorm2d[];
  readonly #convs: Conv2d[];
  readonly #shortcut?: Sequential;

  /**
   * Creates the block's weights (children `bn1`–`bn3`, `conv1`–`conv3`, and
   * `shortcut.0` — a 1×1 conv — only when the stride or width changes).
   *
   * @param inPlanes input channels
   * @param planes bottleneck width (output is 4×)
   * @param stride stride of the 3×3 conv and the shortcut
   * @param ctx rng and backend
   */
  constructor(inPlanes: number, planes: number, stride: number, ctx: LayerContext) {
    super();
    this.outPlanes = planes * 4;
    const bn1 = this.child("bn1", new BatchNorm2d(inPlanes, ctx));
    const conv1 = this.child("conv1", conv(inPlanes, planes, 1, 1, ctx));
    const bn2 = this.child("bn2", new BatchNorm2d(planes, ctx));
    const conv2 = this.child("conv2", conv(planes, planes, 3, stride, ctx));
    const bn3 = this.child("bn3", new BatchNorm2d(planes, ctx));
    const conv3 = this.child("conv3", conv(planes, this.outPlanes, 1, 1, ctx));
    this.#bns = [bn1, bn2, bn3];
    this.#convs = [conv1, conv2, conv3];
    if (stride !== 1 || inPlanes !== this.outPlanes) {
      this.#shortcut = this.child(
        "shortcut",
        new Sequential([conv(inPlanes, this.outPlanes, 1, stride, ctx)]),
      );
    }
  }

  /** Forward pass; the shortcut conv sees relu(bn1(x)). */
  call<T>(ops: LayerOps<T>, x: T): T {
    const pre = ops.relu(this.#bns[0].call(ops, x));
    const shortcut = this.#shortcut ? this.#shortcut.call(ops, pre) : x;
    let h = this.#convs[0].call(ops, pre);
    h = this.#convs[1].call(ops, ops.relu(this.#bns[1].call(ops, h)));
    h = this.#convs[2].call(ops, ops.relu(this.#bns[2].call(ops, h)));
    return ops.add(h, shortcut);
  }
}

/**
 * torchvision v1.5 bottleneck: stride on the 3×3 conv, post-activation, optional downsample.
 *
 * @example
 * ```ts
 * import { Bottleneck } from "@agd/models";
 * import { Rng, zeros } from "@agd/tensor";
 * const block = new Bottleneck(8, 4, 2, { rng: new Rng(0) });
 * console.log(block.children().map(([name]) => name)); // ["conv1", "bn1", "conv2", "bn2", "conv3", "bn3", "downsample"]
 * console.log(block.forward(zeros([1, 8, 8, 8])).shape); // [1, 16, 4, 4]
 * ```
 */
export class Bottleneck extends Module implements ResidualBlock {
  /** Output channels (planes·4). */
  readonly outPlanes: number;
  readonly #convs: Conv2d[];
  readonly #bns: BatchNorm2d[];
  readonly #downsample?: Sequential;

  /**
   * Creates the block's weights (children `conv1`–`conv3`, `bn1`–`bn3`, and
   * `downsample` — 1×1 conv then BatchNorm — only when the stride or width
   * changes), named as in torchvision so its checkpoints load.
   *
   * @param inPlanes input channels
   * @param planes bottleneck width (output is 4×)
   * @param stride stride of the 3×3 conv and the downsample
   * @param ctx rng and backend
   */
  constructor(inPlanes: number, planes: number, stride: number, ctx: LayerContext) {
    super();
    this.outPlanes = planes * 4;
    const conv1 = this.child("conv1", conv(inPlanes, planes, 1, 1, ctx));
    const bn1 = this.child("bn1", new BatchNorm2d(planes, ctx));
    const conv2 = this.child("conv2", conv(planes, planes, 3, stride, ctx));
    const bn2 = this.child("bn2", new BatchNorm2d(planes, ctx));
    const conv3 = this.child("conv3", conv(planes, this.outPlanes, 1, 1, ctx));
    const bn3 = this.child("bn3", new BatchNorm2d(this.outPlanes, ctx));
    this.#convs = [conv1, conv2, conv3];
    this.#bns = [bn1, bn2, bn3];
    if (stride !== 1 || inPlanes !== this.outPlanes) {
      this.#downsample = this.child(
        "downsample",
        new Sequential([
          conv(inPlanes, this.outPlanes, 1, stride, ctx),
          new BatchNorm2d(this.outPlanes, ctx),
        ]),
      );
    }
  }

  /** Forward pass. */
  call<T>(ops: LayerOps<T>, x: T): T {
    let h = ops.relu(this.#bns[0].call(ops, this.#convs[0].call(ops, x)));
    h = ops.relu(this.#bns[1].call(ops, this.#convs[1].call(ops, h)));
    h = this.#bns[2].call(ops, this.#convs[2].call(ops, h));
    const identity = this.#downsample ? this.#downsample.call(ops, x) : x;
    return ops.relu(ops.add(h, identity));
  }
}

type BlockClass = new (
  inPlanes: number,
  planes: number,
  stride: number,
  ctx: LayerContext,
) => ResidualBlock;

function stage(
  block: BlockClass,
  inPlanes: number,
  planes: number,
  count: number,
  stride: number,
  ctx: LayerContext,
): Sequential {
  const blocks: ResidualBlock[] = [];
  for (let i = 0; i < count; i++) {
    const b = new block(inPlanes, planes, i === 0 ? stride : 1, ctx);
    blocks.push(b);
    inPlanes = b.outPlanes;
  }
  return new Sequential(blocks);
}

function outPlanesOf(stage: Sequential): number {
  return (stage.layers.at(-1) as ResidualBlock).outPlanes;
}

/**
 * Pre-activation ResNet for 3×32×32 images (kuangliu/pytorch-cifar layout).
 *
 * @example
 * ```ts
 * import { parameterCount, PreActResNet } from "@agd/models";
 * import { Rng } from "@agd/tensor";
 * const resnet = new PreActResNet("resnet18", 10, { rng: new Rng(0) });
 * console.log(resnet.children().map(([name]) => name)); // ["conv1", "layer1", "layer2", "layer3", "layer4", "linear"]
 * console.log(parameterCount(resnet)); // 11164352
 * resnet.dispose();
 * ```
 */
export class PreActResNet extends Module {
  readonly #conv1: Conv2d;
  readonly #stages: Sequential[];
  readonly #linear: Linear;

  /**
   * Builds the network: `conv1`, four stages `layer1`–`layer4` of widths
   * 64–512 (stride 2 from the second), and `linear`.
   *
   * @param kind resnet18 (basic blocks [2,2,2,2]) or resnet50 (bottlenecks [3,4,6,3])
   * @param classes number of classes
   * @param ctx rng and backend
   */
  constructor(kind: "resnet18" | "resnet50", classes: number, ctx: LayerContext) {
    super();
    const [block, counts]: [BlockClass, number[]] = kind === "resnet18"
      ? [PreActBlock, [2, 2, 2, 2]]
      : [PreActBottleneck, [3, 4, 6, 3]];
    this.#conv1 = this.child("conv1", conv(3, 64, 3, 1, ctx));
    let planes = 64;
    this.#stages = [64, 128, 256, 512].map((width, i) => {
      const s = this.child(
        `layer${i + 1}`,
        stage(block, planes, width, counts[i], i === 0 ? 1 : 2, ctx),
      );
      planes = outPlanesOf(s);
      return s;
    });
    this.#linear = this.child("linear", new Linear(planes, classes, ctx));
  }

  /** Forward pass: stem conv (no BN), stages, avg pool 4×4, linear. */
  call<T>(ops: LayerOps<T>, x: T): T {
    let h = this.#conv1.call(ops, x);
    for (const s of this.#stages) h = s.call(ops, h);
    h = ops.avgPool2d(h, { kernel: [4, 4], stride: [4, 4], padding: [0, 0] });
    return this.#linear.call(ops, ops.flatten(h));
  }
}

/**
 * torchvision ResNet-50 v1.5 for ImageNet (any input ≥ 32×32; 224×224 in training).
 *
 * @example
 * ```ts
 * import { ResNet50 } from "@agd/models";
 * import { Rng } from "@agd/tensor";
 * const resnet = new ResNet50(10, { rng: new Rng(0) });
 * const names = resnet.parameters().map((p) => p.name);
 * console.log(names.length, names[0], names.at(-1)); // 54 conv1.weight fc.weight
 * resnet.dispose();
 * ```
 */
export class ResNet50 extends Module {
  readonly #conv1: Conv2d;
  readonly #bn1: BatchNorm2d;
  readonly #maxpool = new MaxPool2d({ kernel: 3, stride: 2, padding: 1 });
  readonly #stages: Sequential[];
  readonly #fc: Linear;

  /**
   * Builds the network with torchvision's names (`conv1`, `bn1`,
   * `layer1`–`layer4`, `fc`), so a torchvision `state_dict` maps one to one.
   *
   * @param classes number of classes (1000)
   * @param ctx rng and backend
   */
  constructor(classes: number, ctx: LayerContext) {
    super();
    this.#conv1 = this.child(
      "conv1",
      new Conv2d(3, 64, { kernel: 7, stride: 2, padding: 3, ...ctx }),
    );
    this.#bn1 = this.child("bn1", new BatchNorm2d(64, ctx));
    let planes = 64;
    this.#stages = [64, 128, 256, 512].map((width, i) => {
      const s = this.child(
        `layer${i + 1}`,
        stage(Bottleneck, planes, width, [3, 4, 6, 3][i], i === 0 ? 1 : 2, ctx),
      );
      planes = outPlanesOf(s);
      return s;
    });
    this.#fc = this.child("fc", new Linear(planes, classes, ctx));
  }

  /** Forward pass. */
  call<T>(ops: LayerOps<T>, x: T): T {
    let h = ops.relu(this.#bn1.call(ops, this.#conv1.call(ops, x)));
    h = this.#maxpool.call(ops, h);
    for (const s of this.#stages) h = s.call(ops, h);
    return this.#fc.call(ops, ops.flatten(ops.globalAvgPool2d(h)));
  }
}
