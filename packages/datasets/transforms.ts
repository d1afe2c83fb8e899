/**
 * Image transforms with exactly torchvision's arithmetic: ToTensor, Normalize,
 * RandomCrop with zero padding, RandomHorizontalFlip, RandomResizedCrop,
 * Resize (shorter side) and CenterCrop, with bilinear (antialiased, as PIL
 * and `antialias=True`) resampling. Images are uint8; tensors are CHW float32.
 *
 * @module
 */

import type { Random } from "./rng.ts";

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

/** A decoded image with interleaved channels (HWC), e.g. RGB or RGBA from a JPEG decoder. */
export interface RawImage {
  /** Pixel bytes, row-major, `channels` values per pixel. */
  data: Uint8Array | Uint8ClampedArray;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Interleaved values per pixel (3 for RGB, 4 for RGBA; only the first three are used when 4). */
  channels: number;
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

/**
 * Converts a uint8 image to floats in [0, 1] by dividing by 255, like
 * `torchvision.transforms.ToTensor` (the layout is kept, so pass CHW).
 *
 * @param image uint8 pixel values.
 * @returns float32 values `image[i] / 255`.
 */
export function toTensor(image: Uint8Array): Float32Array {
  const out = new Float32Array(image.length);
  for (let i = 0; i < image.length; i++) out[i] = image[i] / 255;
  return out;
}

/** Per-channel mean and standard deviation for {@linkcode normalize} and {@linkcode Normalizer}. */
export interface NormalizeOptions {
  /** Per-channel mean; its length is the channel count. */
  mean: readonly number[];
  /** Per-channel standard deviation, same length as `mean`. */
  std: readonly number[];
}

/**
 * Normalizes a CHW float32 tensor in place as `(x - mean[c]) / std[c]` in
 * float32, like `torchvision.transforms.Normalize`.
 *
 * @param tensor CHW values; its length must be a multiple of the channel count.
 * @param options The per-channel mean and std.
 * @returns The same tensor, normalized.
 */
export function normalize(tensor: Float32Array, options: NormalizeOptions): Float32Array {
  const c = options.mean.length;
  if (options.std.length !== c || tensor.length % c !== 0) {
    throw new RangeError(
      `Cannot normalize a tensor of length ${tensor.length} with ${c} means and ${options.std.length} stds: pass one mean and std per channel.`,
    );
  }
  const plane = tensor.length / c;
  for (let ch = 0; ch < c; ch++) {
    const m = Math.fround(options.mean[ch]);
    const s = Math.fround(options.std[ch]);
    for (let i = ch * plane; i < (ch + 1) * plane; i++) {
      tensor[i] = Math.fround(tensor[i] - m) / s;
    }
  }
  return tensor;
}

/**
 * Fused ToTensor + Normalize for uint8 CHW images using a 256-entry table
 * per channel; bit-identical to {@linkcode toTensor} followed by
 * {@linkcode normalize} (float32 at every step, as in torch).
 */
export class Normalizer {
  /** One 256-entry table per channel. */
  readonly tables: Float32Array[];

  /**
   * Builds the lookup tables.
   *
   * @param options The per-channel mean and std; use mean 0 and std 1 for ToTensor only.
   */
  constructor(options: NormalizeOptions) {
    this.tables = options.mean.map((mean, c) => {
      const t = new Float32Array(256);
      const m = Math.fround(mean);
      const s = Math.fround(options.std[c]);
      for (let v = 0; v < 256; v++) t[v] = Math.fround(Math.fround(v / 255) - m) / s;
      return t;
    });
  }

  /**
   * Writes the normalized float32 version of a uint8 CHW image into `out` at `offset`.
   *
   * @param image uint8 CHW pixels; the length must be a multiple of the channel count.
   * @param out Destination buffer with room for `image.length` floats from `offset`.
   * @param offset Index in `out` of the first value written (default 0).
   */
  apply(image: Uint8Array, out: Float32Array, offset = 0): void {
    const c = this.tables.length;
    const plane = image.length / c;
    for (let ch = 0; ch < c; ch++) {
      const t = this.tables[ch];
      const base = ch * plane;
      for (let i = 0; i < plane; i++) out[offset + base + i] = t[image[base + i]];
    }
  }

  /**
   * Like {@linkcode Normalizer.apply} for an interleaved (HWC) uint8 image,
   * writing CHW floats of a `size × size` window of it: the layout change
   * and the crop are folded into the table lookup.
   *
   * @param image uint8 HWC pixels with as many channels as tables.
   * @param out Destination buffer with room for `channels × size²` floats from `options.offset`.
   * @param options The window (`size`, `left`, `top`), the image width and the offset in `out`.
   */
  applyHwc(image: Uint8Array, out: Float32Array, options: HwcWindowOptions): void {
    const c = this.tables.length;
    const { size, width } = options;
    const left = options.left ?? 0;
    const top = options.top ?? 0;
    const offset = options.offset ?? 0;
    const plane = size * size;
    for (let ch = 0; ch < c; ch++) {
      const t = this.tables[ch];
      const base = offset + ch * plane;
      for (let y = 0; y < size; y++) {
        let j = ((top + y) * width + left) * c + ch;
        const o = base + y * size;
        for (let x = 0; x < size; x++, j += c) out[o + x] = t[image[j]];
      }
    }
  }
}

/** The window of {@linkcode Normalizer.applyHwc}. */
export interface HwcWindowOptions {
  /** Side of the square window (the output is `size × size`). */
  size: number;
  /** Width of the HWC image in pixels. */
  width: number;
  /** Column of the window's left edge (default 0). */
  left?: number;
  /** Row of the window's top edge (default 0). */
  top?: number;
  /** Index in `out` of the first value written (default 0). */
  offset?: number;
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

interface AxisWeights {
  /** First input index used by each output index. */
  start: Int32Array;
  /** Number of taps of each output index. */
  count: Int32Array;
  /** Taps, `taps` per output index. */
  weights: Float64Array;
  taps: number;
}

function triangle(x: number): number {
  if (x < 0) x = -x;
  return x < 1 ? 1 - x : 0;
}

/** Weights of outputs `from .. from+n` of a 1-D bilinear resize `inSize → outSize`. */
function axisWeights(
  inSize: number,
  outSize: number,
  from: number,
  n: number,
  antialias: boolean,
): AxisWeights {
  const scale = inSize / outSize;
  const start = new Int32Array(n);
  const count = new Int32Array(n);
  if (!antialias) {
    // align_corners=False bilinear (torch.nn.functional.interpolate without antialias).
    const weights = new Float64Array(n * 2);
    for (let k = 0; k < n; k++) {
      let src = scale * (from + k + 0.5) - 0.5;
      if (src < 0) src = 0;
      const x0 = Math.floor(src);
      const l1 = src - x0;
      start[k] = x0;
      const has1 = x0 < inSize - 1;
      count[k] = has1 ? 2 : 1;
      weights[2 * k] = has1 ? 1 - l1 : 1;
      weights[2 * k + 1] = has1 ? l1 : 0;
    }
    return { start, count, weights, taps: 2 };
  }
  // Antialiased bilinear (PIL ImagingResample / torch antialias=True).
  const support = scale >= 1 ? scale : 1;
  const invscale = scale >= 1 ? 1 / scale : 1;
  const taps = Math.ceil(support) * 2 + 1;
  const weights = new Float64Array(n * taps);
  for (let k = 0; k < n; k++) {
    const center = scale * (from + k + 0.5);
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xsize = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let total = 0;
    for (let j = 0; j < xsize; j++) {
      const w = triangle((j + xmin - center + 0.5) * invscale);
      weights[k * taps + j] = w;
      total += w;
    }
    if (total !== 0) { for (let j = 0; j < xsize; j++) weights[k * taps + j] /= total; }
    start[k] = xmin;
    count[k] = xsize;
  }
  return { start, count, weights, taps };
}

let scratchBuffer = new Float64Array(0);

/** A reused buffer of at least `n` doubles (the horizontal pass's rows). */
function scratch(n: number): Float64Array {
  if (scratchBuffer.length < n) scratchBuffer = new Float64Array(n);
  return scratchBuffer;
}

/**
 * Resamples `rows` rows of the image from row `top`, columns from `left`,
 * to `ow` columns of `c` channels in `tmp` (row-major, interleaved).
 */
function horizontalPass(
  image: RawImage,
  top: number,
  left: number,
  rows: number,
  hw: AxisWeights,
  ow: number,
  c: number,
  tmp: Float64Array,
): void {
  const src = image.data;
  const stride = image.channels;
  const { start, count, weights, taps } = hw;
  for (let r = 0; r < rows; r++) {
    const rowBase = ((top + r) * image.width + left) * stride;
    let t = r * ow * c;
    if (c === 3) {
      for (let x = 0; x < ow; x++) {
        const n = count[x];
        const wb = x * taps;
        let p = rowBase + start[x] * stride;
        // Sums left to right from 0, as the general loop below does: the
        // same numbers. Two and three taps are most resizes to 224 px.
        if (n === 3) {
          const w0 = weights[wb], w1 = weights[wb + 1], w2 = weights[wb + 2];
          const q = p + stride, r2 = p + 2 * stride;
          tmp[t++] = w0 * src[p] + w1 * src[q] + w2 * src[r2];
          tmp[t++] = w0 * src[p + 1] + w1 * src[q + 1] + w2 * src[r2 + 1];
          tmp[t++] = w0 * src[p + 2] + w1 * src[q + 2] + w2 * src[r2 + 2];
          continue;
        }
        if (n === 2) {
          const w0 = weights[wb], w1 = weights[wb + 1];
          const q = p + stride;
          tmp[t++] = w0 * src[p] + w1 * src[q];
          tmp[t++] = w0 * src[p + 1] + w1 * src[q + 1];
          tmp[t++] = w0 * src[p + 2] + w1 * src[q + 2];
          continue;
        }
        let a0 = 0, a1 = 0, a2 = 0;
        for (let j = 0; j < n; j++, p += stride) {
          const w = weights[wb + j];
          a0 += w * src[p];
          a1 += w * src[p + 1];
          a2 += w * src[p + 2];
        }
        tmp[t++] = a0;
        tmp[t++] = a1;
        tmp[t++] = a2;
      }
      continue;
    }
    for (let x = 0; x < ow; x++) {
      const n = count[x];
      const wb = x * taps;
      for (let ch = 0; ch < c; ch++) {
        let p = rowBase + start[x] * stride + ch;
        let a = 0;
        for (let j = 0; j < n; j++, p += stride) a += weights[wb + j] * src[p];
        tmp[t++] = a;
      }
    }
  }
}

/** 1.5·2⁵²: adding and subtracting it rounds a double to an integer, ties to even. */
const ROUND_MAGIC = 6755399441055744;

/** Rounds half to even (torch.round) and clamps to 0..255. */
function toUint8(a: number): number {
  const v = (a + ROUND_MAGIC) - ROUND_MAGIC;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * Resamples the `tmp` rows (from row `rowFirst`) to `oh` rows, rounds
 * half to even (torch.round), clamps to uint8 and writes CHW `out` from
 * `offset`, mirrored when `flip`, through `tables` (one 256-entry table
 * per channel) when given. Each output row is a weighted sum of whole `tmp`
 * rows (contiguous, so the inner loop streams), with the taps in the same
 * order as a per-pixel sum, so the sums are the same numbers.
 */
function verticalPass(
  tmp: Float64Array,
  rowFirst: number,
  vw: AxisWeights,
  ow: number,
  oh: number,
  c: number,
  flip: boolean,
  out: Uint8Array | Float32Array,
  offset: number,
  tables?: readonly Float32Array[],
): void {
  const rowLen = ow * c;
  const acc = new Float64Array(rowLen);
  const plane = oh * ow;
  const { start, count, weights, taps } = vw;
  for (let y = 0; y < oh; y++) {
    const n = count[y];
    const wb = y * taps;
    let base = (start[y] - rowFirst) * rowLen;
    const w0 = weights[wb];
    for (let i = 0; i < rowLen; i++) acc[i] = w0 * tmp[base + i];
    for (let j = 1; j < n; j++) {
      const w = weights[wb + j];
      base += rowLen;
      for (let i = 0; i < rowLen; i++) acc[i] += w * tmp[base + i];
    }
    const step = flip ? -1 : 1;
    const first = y * ow + (flip ? ow - 1 : 0);
    if (c === 3 && tables) {
      // One pass over the pixels, writing the three planes.
      const [t0, t1, t2] = tables;
      let o = offset + first;
      for (let i = 0; i < rowLen; i += 3, o += step) {
        out[o] = t0[toUint8(acc[i])];
        out[o + plane] = t1[toUint8(acc[i + 1])];
        out[o + 2 * plane] = t2[toUint8(acc[i + 2])];
      }
      continue;
    }
    for (let ch = 0; ch < c; ch++) {
      let o = offset + ch * plane + first;
      const table = tables?.[ch];
      if (table) {
        for (let i = ch; i < rowLen; i += c, o += step) out[o] = table[toUint8(acc[i])];
      } else {
        for (let i = ch; i < rowLen; i += c, o += step) out[o] = toUint8(acc[i]);
      }
    }
  }
}

/** Options for {@linkcode resizedCrop}. */
export interface ResizedCropOptions {
  /** Region of the input to resize (default: the whole image). */
  box?: CropBox;
  /** Height the region is resized to. */
  height: number;
  /** Width the region is resized to. */
  width: number;
  /** Part of the resized image to output, e.g. a center crop (default: all of it). */
  window?: CropBox;
  /** Mirror the output left-right (default false). */
  flip?: boolean;
  /** Antialiased bilinear like PIL and torchvision `antialias=True` (default true); false gives plain `interpolate(mode="bilinear")`. */
  antialias?: boolean;
}

/**
 * Crops `box` from an interleaved image, resizes it bilinearly to
 * `height × width`, keeps `window` of the result, optionally flips it, and
 * rounds to uint8 (ties to even) like torchvision on uint8 tensors. Only the
 * window's pixels are computed, so Resize + CenterCrop costs one pass.
 *
 * @param image The decoded HWC image (RGB or RGBA; the first three channels are used).
 * @param options The crop box, output size, window, flip and filter.
 * @returns uint8 CHW pixels of the window, 3 channels.
 */
export function resizedCrop(image: RawImage, options: ResizedCropOptions): Uint8Array {
  const win = options.window ?? options;
  const out = new Uint8Array(Math.min(image.channels, 3) * win.height * win.width);
  resample(image, options, out, 0);
  return out;
}

/**
 * {@linkcode resizedCrop} with ToTensor + Normalize fused in: each rounded
 * uint8 value goes through its channel's table (as
 * {@linkcode Normalizer.apply} would map it) straight into `out`.
 *
 * @param image The decoded HWC image (RGB or RGBA; the first three channels are used).
 * @param options The crop box, output size, window, flip and filter.
 * @param normalizer The per-channel tables.
 * @param out Receives CHW floats of the window.
 * @param offset Index of the first float written.
 */
export function resizedCropInto(
  image: RawImage,
  options: ResizedCropOptions,
  normalizer: Normalizer,
  out: Float32Array,
  offset = 0,
): void {
  resample(image, options, out, offset, normalizer.tables);
}

function resample(
  image: RawImage,
  options: ResizedCropOptions,
  out: Uint8Array | Float32Array,
  offset: number,
  tables?: readonly Float32Array[],
): void {
  const box = options.box ?? { top: 0, left: 0, height: image.height, width: image.width };
  const win = options.window ?? { top: 0, left: 0, height: options.height, width: options.width };
  const aa = options.antialias ?? true;
  const c = Math.min(image.channels, 3);
  const hw = axisWeights(box.width, options.width, win.left, win.width, aa);
  const vw = axisWeights(box.height, options.height, win.top, win.height, aa);
  const rowFirst = vw.start[0];
  let rowEnd = 0;
  for (let k = 0; k < win.height; k++) rowEnd = Math.max(rowEnd, vw.start[k] + vw.count[k]);
  const rows = rowEnd - rowFirst;
  const tmp = scratch(rows * win.width * c);
  horizontalPass(image, box.top + rowFirst, box.left, rows, hw, win.width, c, tmp);
  verticalPass(
    tmp,
    rowFirst,
    vw,
    win.width,
    win.height,
    c,
    options.flip ?? false,
    out,
    offset,
    tables,
  );
}
