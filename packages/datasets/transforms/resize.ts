/**
 * Bilinear resampling of a crop of an interleaved image, antialiased as PIL
 * and torchvision's `antialias=True` (or plain, as `interpolate`), computing
 * only the output window's pixels and rounding to uint8 like torchvision, or
 * writing normalized floats through a {@linkcode Normalizer}'s tables.
 *
 * @module
 */

import type { CropBox } from "./crop.ts";
import type { Normalizer } from "./normalize.ts";

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
