/**
 * Where a crop falls: torchvision's RandomCrop and RandomResizedCrop draws,
 * Resize's output size and CenterCrop's box, and the zero-pad, crop and flip
 * of a CHW image (RandomCrop + RandomHorizontalFlip).
 *
 * @module
 */

import type { Random } from "../rng.ts";

/** A rectangle inside an image, in pixels. */
export interface CropBox {
  /** Row of the top edge. */
  top: number;
  /** Column of the left edge. */
  left: number;
  /** Height in pixels. */
  height: number;
  /** Width in pixels. */
  width: number;
}

/** Height and width of an image. */
export interface ImageSize {
  /** Height in pixels. */
  height: number;
  /** Width in pixels. */
  width: number;
}

/**
 * Rounds half to even, like Python's `round()` and `torch.round`.
 *
 * @param x The value to round.
 * @returns The nearest integer, ties to even.
 */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Options for {@linkcode randomCropParams}. */
export interface RandomCropOptions {
  /** Image height before padding. */
  height: number;
  /** Image width before padding. */
  width: number;
  /** Output side length (square crop), e.g. 32. */
  size: number;
  /** Zero padding added on every side before cropping, e.g. 4. */
  padding?: number;
}

/**
 * Draws the crop position of `RandomCrop(size, padding)`, like torchvision:
 * `top = randint(0, h + 2p - size + 1)`, then `left` likewise.
 *
 * @param rng The random generator (two draws unless the crop covers the image).
 * @param options Image size, crop size and padding.
 * @returns The crop box in padded coordinates.
 */
export function randomCropParams(rng: Random, options: RandomCropOptions): CropBox {
  const p = options.padding ?? 0;
  const h = options.height + 2 * p;
  const w = options.width + 2 * p;
  const s = options.size;
  if (h < s || w < s) {
    throw new RangeError(
      `Cannot crop ${s}×${s} from a ${h}×${w} padded image: use a smaller size or more padding.`,
    );
  }
  if (h === s && w === s) return { top: 0, left: 0, height: s, width: s };
  const top = rng.int(0, h - s + 1);
  const left = rng.int(0, w - s + 1);
  return { top, left, height: s, width: s };
}

/** Options for {@linkcode padCropFlip}. */
export interface PadCropFlipOptions {
  /** Channels of the CHW image. */
  channels: number;
  /** Image height. */
  height: number;
  /** Image width. */
  width: number;
  /** Zero padding on every side. */
  padding: number;
  /** Crop box in padded coordinates, from {@linkcode randomCropParams}. */
  box: CropBox;
  /** Whether to mirror the crop left-right. */
  flip: boolean;
}

/**
 * Zero-pads a uint8 CHW image, crops `box` and optionally flips it
 * horizontally (RandomCrop + RandomHorizontalFlip).
 *
 * @param image uint8 CHW pixels.
 * @param options Shape, padding, crop box and flip.
 * @returns The cropped uint8 CHW image (`channels × box.height × box.width`).
 */
export function padCropFlip(image: Uint8Array, options: PadCropFlipOptions): Uint8Array {
  const { channels: c, height: h, width: w, padding: p, box, flip } = options;
  const oh = box.height;
  const ow = box.width;
  const out = new Uint8Array(c * oh * ow);
  for (let ch = 0; ch < c; ch++) {
    const src = ch * h * w;
    const dst = ch * oh * ow;
    for (let y = 0; y < oh; y++) {
      const sy = y + box.top - p;
      if (sy < 0 || sy >= h) continue;
      const row = src + sy * w;
      const orow = dst + y * ow;
      for (let x = 0; x < ow; x++) {
        const sx = x + box.left - p;
        if (sx < 0 || sx >= w) continue;
        out[orow + (flip ? ow - 1 - x : x)] = image[row + sx];
      }
    }
  }
  return out;
}

/** Options for {@linkcode randomResizedCropParams}. */
export interface RandomResizedCropOptions {
  /** Image height. */
  height: number;
  /** Image width. */
  width: number;
  /** Range of the crop area as a fraction of the image area (default [0.08, 1]). */
  scale?: readonly [number, number];
  /** Range of the crop aspect ratio w/h (default [3/4, 4/3]). */
  ratio?: readonly [number, number];
}

/**
 * Draws a `RandomResizedCrop` box with torchvision's algorithm: ten attempts
 * of a random area fraction and log-uniform aspect ratio, then a center crop
 * clamped to the ratio range as the fallback.
 *
 * @param rng The random generator.
 * @param options Image size, scale and ratio ranges.
 * @returns The crop box.
 */
export function randomResizedCropParams(
  rng: Random,
  options: RandomResizedCropOptions,
): CropBox {
  const { height, width } = options;
  const scale = options.scale ?? [0.08, 1];
  const ratio = options.ratio ?? [3 / 4, 4 / 3];
  const area = height * width;
  const logLo = Math.log(Math.fround(ratio[0]));
  const logHi = Math.log(Math.fround(ratio[1]));
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(logLo, logHi));
    const w = roundHalfEven(Math.sqrt(targetArea * aspect));
    const h = roundHalfEven(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = rng.int(0, height - h + 1);
      const left = rng.int(0, width - w + 1);
      return { top, left, height: h, width: w };
    }
  }
  const inRatio = width / height;
  const minR = Math.min(ratio[0], ratio[1]);
  const maxR = Math.max(ratio[0], ratio[1]);
  let w: number;
  let h: number;
  if (inRatio < minR) {
    w = width;
    h = roundHalfEven(w / minR);
  } else if (inRatio > maxR) {
    h = height;
    w = roundHalfEven(h * maxR);
  } else {
    w = width;
    h = height;
  }
  return {
    top: Math.floor((height - h) / 2),
    left: Math.floor((width - w) / 2),
    height: h,
    width: w,
  };
}

/**
 * Output size of `Resize(size)` with an int size: the shorter side becomes
 * `size` and the longer one `floor(size * long / short)`, like torchvision.
 *
 * @param image The input size.
 * @param size The new length of the shorter side.
 * @returns The resized height and width.
 */
export function resizeShorterSide(image: ImageSize, size: number): ImageSize {
  const { height: h, width: w } = image;
  const short = Math.min(h, w);
  const long = Math.max(h, w);
  const newLong = Math.floor((size * long) / short);
  return w <= h ? { height: newLong, width: size } : { height: size, width: newLong };
}

/**
 * The `CenterCrop(size)` box, like torchvision: `top = round((h - size) / 2)`
 * (ties to even), same for `left`.
 *
 * @param image The input size; both sides must be at least `size`.
 * @param size The output side length.
 * @returns The crop box.
 */
export function centerCropBox(image: ImageSize, size: number): CropBox {
  if (image.height < size || image.width < size) {
    throw new RangeError(
      `Cannot center-crop ${size}×${size} from a ${image.height}×${image.width} image: resize it to at least ${size} first.`,
    );
  }
  return {
    top: roundHalfEven((image.height - size) / 2),
    left: roundHalfEven((image.width - size) / 2),
    height: size,
    width: size,
  };
}
