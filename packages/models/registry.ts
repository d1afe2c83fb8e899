/**
 * `createModel(arch, dataset)`: the (architecture, dataset) pairs the AGD
 * reference trainer accepts, and the same refusal for the others.
 *
 * @module
 */
import { type Backend, Rng } from "@agd/tensor";
import { Fcn } from "./fcn.ts";
import type { Module } from "./module.ts";
import { PreActResNet, ResNet50 } from "./resnet.ts";
import { Vgg, VGG_CONFIGS, type VggName } from "./vgg.ts";

/** Architectures of the reference trainer (`vgg` is VGG-16; vgg11/13/19 are extras). */
export const ARCHS = [
  "fcn",
  "vgg",
  "vgg11",
  "vgg13",
  "vgg16",
  "vgg19",
  "resnet18",
  "resnet50",
] as const;
/** An architecture name. */
export type Arch = (typeof ARCHS)[number];

/** Input geometry and classes of a dataset. */
export interface DatasetShape {
  /** Channels, height, width of one image. */
  input: [number, number, number];
  /** Number of classes. */
  classes: number;
}

/** Shapes of the datasets the trainer knows. */
export const DATASET_SHAPES: Record<string, DatasetShape> = {
  mnist: { input: [1, 28, 28], classes: 10 },
  "fashion-mnist": { input: [1, 28, 28], classes: 10 },
  cifar10: { input: [3, 32, 32], classes: 10 },
  cifar100: { input: [3, 32, 32], classes: 100 },
  imagenet: { input: [3, 224, 224], classes: 1000 },
};

/** Options of {@link createModel}. */
export interface ModelOptions {
  /** FCN depth (default 10). */
  depth?: number;
  /** FCN width (default 256). */
  width?: number;
  /** Seed of the default init (default 0). */
  seed?: number;
  /** Device (default: the current backend). */
  backend?: Backend;
  /** Override the number of classes (e.g. a 10-class ImageNet subset). */
  classes?: number;
}

/**
 * Builds the network the reference trainer builds for `arch` on `dataset`,
 * with PyTorch's default init.
 *
 * @example
 * ```ts
 * import { createModel } from "./registry.ts";
 * const model = createModel("fcn", "mnist", { depth: 3, width: 8 });
 * console.log(model.parameters().map((p) => p.name)); // ["initial.weight", "layers.0.weight", "final.weight"]
 * model.dispose();
 * ```
 */
export function createModel(arch: string, dataset: string, options: ModelOptions = {}): Module {
  const shape = DATASET_SHAPES[dataset];
  if (!shape) {
    throw new Error(
      `Cannot build a model for --dataset ${dataset}: choose one of ${
        Object.keys(DATASET_SHAPES).join(", ")
      }`,
    );
  }
  if (!(ARCHS as readonly string[]).includes(arch)) {
    throw new Error(`Cannot build --arch ${arch}: choose one of ${ARCHS.join(", ")}`);
  }
  const classes = options.classes ?? shape.classes;
  const ctx = { rng: new Rng(options.seed ?? 0), backend: options.backend };
  if (arch === "fcn") {
    const [c, h, w] = shape.input;
    return new Fcn({
      depth: options.depth ?? 10,
      width: options.width ?? 256,
      inputSize: c * h * w,
      classes,
    }, ctx);
  }
  if (arch === "resnet50" && dataset === "imagenet") return new ResNet50(classes, ctx);
  if (!dataset.startsWith("cifar")) {
    throw new Error(
      `Cannot build --arch ${arch} for --dataset ${dataset}: the chosen dataset is not compatible with the chosen ` +
        `architecture (vgg and resnet18 need cifar10/cifar100, resnet50 needs cifar or imagenet; fcn takes any dataset)`,
    );
  }
  if (arch === "resnet18" || arch === "resnet50") return new PreActResNet(arch, classes, ctx);
  const name = (arch === "vgg" ? "vgg16" : arch) as VggName;
  if (!(name in VGG_CONFIGS)) throw new Error(`Cannot build --arch ${arch}`);
  return new Vgg(name, classes, ctx);
}

/**
 * Total number of trainable weights.
 *
 * @param model the network
 * @returns the elements of all its parameters (buffers not counted)
 * @example
 * ```ts
 * import { createModel, parameterCount } from "@agd/models";
 * const model = createModel("fcn", "mnist", { depth: 3, width: 16 });
 * console.log(parameterCount(model)); // 12960 (784·16 + 16·16 + 16·10)
 * ```
 */
export function parameterCount(model: Module): number {
  return model.parameters().reduce((n, p) => n + p.value.size, 0);
}
