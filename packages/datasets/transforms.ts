/**
 * Image transforms with exactly torchvision's arithmetic: ToTensor, Normalize,
 * RandomCrop with zero padding, RandomHorizontalFlip, RandomResizedCrop,
 * Resize (shorter side) and CenterCrop, with bilinear (antialiased, as PIL
 * and `antialias=True`) resampling. Images are uint8; tensors are CHW float32.
 *
 * The parts live in `transforms/`: crop boxes and the pad-crop-flip
 * (`crop.ts`), ToTensor and Normalize (`normalize.ts`) and the resampler
 * (`resize.ts`).
 *
 * @module
 */

export * from "./transforms/crop.ts";
export * from "./transforms/normalize.ts";
export * from "./transforms/resize.ts";
