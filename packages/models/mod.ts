/**
 * The AGD paper's architectures — fcn, VGG, pre-activation ResNet-18/50 for
 * CIFAR and torchvision's ResNet-50 for ImageNet — bias-free, with non-affine
 * BatchNorm and PyTorch state-dict names, plus safetensors checkpoints.
 *
 * @example
 * ```ts
 * import { createModel } from "@agd/models";
 * import { zeros } from "@agd/tensor";
 * const model = createModel("fcn", "mnist", { depth: 3, width: 16 });
 * const logits = model.forward(zeros([2, 1, 28, 28]));
 * console.log(logits.shape); // [2, 10]
 * ```
 *
 * @module
 */
export * from "./layer_ops.ts";
export * from "./module.ts";
export * from "./layers.ts";
export * from "./tensor_ops.ts";
export * from "./fcn.ts";
export * from "./vgg.ts";
export * from "./resnet.ts";
export * from "./registry.ts";
export * from "./checkpoint.ts";
