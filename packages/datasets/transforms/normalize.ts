/**
 * ToTensor and Normalize with torchvision's float32 arithmetic, and the two
 * fused into a 256-entry table per channel ({@linkcode Normalizer}) that the
 * loaders and the resampler write through.
 *
 * @module
 */

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
