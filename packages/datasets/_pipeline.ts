// ImageNet per-image transform shared by the worker and the main thread (private).

import { Random } from "./rng.ts";
import {
  centerCropBox,
  randomResizedCropParams,
  type RawImage,
  resizedCrop,
  resizeShorterSide,
} from "./transforms.ts";

/** Transform settings sent to workers. */
export interface ImageTransformConfig {
  /** RandomResizedCrop + flip (train) or Resize + CenterCrop (test). */
  augment: boolean;
  cropSize: number;
  resizeSize: number;
  scale: [number, number];
  ratio: [number, number];
  antialias: boolean;
  mean: number[];
  std: number[];
  normalize: boolean;
}

/** Applies the train or test transform; returns uint8 CHW of cropSize². */
export function imagenetTransform(
  img: RawImage,
  cfg: ImageTransformConfig,
  seed: number,
): Uint8Array {
  const s = cfg.cropSize;
  if (cfg.augment) {
    const rng = new Random(seed);
    const box = randomResizedCropParams(rng, {
      height: img.height,
      width: img.width,
      scale: cfg.scale,
      ratio: cfg.ratio,
    });
    const flip = rng.next() < 0.5;
    return resizedCrop(img, { box, height: s, width: s, flip, antialias: cfg.antialias });
  }
  const size = resizeShorterSide(img, cfg.resizeSize);
  const window = centerCropBox(size, s);
  return resizedCrop(img, { ...size, window, antialias: cfg.antialias });
}
