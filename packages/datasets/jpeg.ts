/**
 * JPEG decoding with sharp (libvips + libjpeg-turbo, native) or @jsquash/jpeg
 * (libjpeg-turbo compiled to WASM). Measured in Deno 2.9.6 on a 2-core x86-64
 * machine, 500×375 q90 JPEGs: one thread, sharp 133-181 img/s vs jsquash
 * 94-125 img/s; two Web Workers, sharp 255 img/s vs jsquash 224 img/s. sharp
 * is the default because it is faster; jsquash is the automatic fallback when
 * sharp's native binary cannot be loaded (see README.md and `bench.ts`).
 *
 * @module
 */

import type { RawImage } from "./transforms.ts";

/** Available JPEG decoders. */
export type DecoderName = "sharp" | "jsquash";

/** A function decoding JPEG bytes to an RGB(A) image; it rejects on undecodable data. */
export type JpegDecoder = (bytes: Uint8Array) => Promise<RawImage>;

function toRgb(img: RawImage): RawImage {
  if (img.channels >= 3) return img;
  // Grayscale (or gray+alpha) to RGB, as PIL's convert("RGB").
  const n = img.width * img.height;
  const data = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const v = img.data[i * img.channels];
    data[3 * i] = data[3 * i + 1] = data[3 * i + 2] = v;
  }
  return { data, width: img.width, height: img.height, channels: 3 };
}

/**
 * CMYK to RGB exactly as PIL's `convert("RGB")` (Convert.c `cmyk2rgb`):
 * `R = (255 − K) − MULDIV255(C, 255 − K)`, with no colour profile. libvips
 * would convert through an ICC profile instead, giving different colours.
 *
 * @param cmyk Interleaved CMYK bytes (4 per pixel, not inverted).
 * @param pixels Pixel count.
 * @returns Interleaved RGB bytes.
 */
export function cmykToRgb(cmyk: Uint8Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    const nk = 255 - cmyk[4 * i + 3];
    for (let c = 0; c < 3; c++) {
      const t = cmyk[4 * i + c] * nk + 128;
      out[3 * i + c] = nk - (((t >> 8) + t) >> 8);
    }
  }
  return out;
}

/** What a JPEG's frame header says. */
export interface JpegHeader {
  /** Colour components: 1 gray, 3 YCbCr/RGB, 4 CMYK/YCCK. */
  components: number;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

/**
 * Reads a JPEG's frame header (SOFn) by walking the markers: no decoding,
 * no native call.
 *
 * @param bytes The file.
 * @returns The header, or undefined when the bytes are not a JPEG or it is not found.
 */
export function jpegHeader(bytes: Uint8Array): JpegHeader | undefined {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  let p = 2;
  while (p + 9 < bytes.length) {
    if (bytes[p] !== 0xff) return undefined;
    const m = bytes[p + 1];
    if (m === 0xff) {
      p++;
      continue;
    }
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      return {
        height: (bytes[p + 5] << 8) | bytes[p + 6],
        width: (bytes[p + 7] << 8) | bytes[p + 8],
        components: bytes[p + 9],
      };
    }
    if (m === 0xd8 || (m >= 0xd0 && m <= 0xd7) || m === 0x01) {
      p += 2;
      continue;
    }
    p += 2 + ((bytes[p + 2] << 8) | bytes[p + 3]);
  }
  return undefined;
}

/**
 * Number of colour components in a JPEG's frame header (4 for CMYK/YCCK).
 *
 * @param bytes The file.
 * @returns The count, or 0 when the bytes are not a JPEG or the header is not found.
 */
export function jpegComponents(bytes: Uint8Array): number {
  return jpegHeader(bytes)?.components ?? 0;
}

type Sharp = typeof import("sharp");

let sharpP: Promise<Sharp> | undefined;

/** sharp, loaded once, with libvips on one thread (parallelism comes from our workers). */
function importSharp(): Promise<Sharp> {
  if (!sharpP) {
    const p = import("sharp").then((m) => {
      const sharp = m.default as Sharp;
      sharp.concurrency(1);
      sharp.cache(false);
      return sharp;
    });
    p.catch(() => sharpP = undefined);
    sharpP = p;
  }
  return sharpP;
}

async function loadSharp(): Promise<JpegDecoder> {
  const sharp = await importSharp();
  return async (bytes) => {
    if (jpegComponents(bytes) === 4) {
      // CMYK: keep libvips from applying its ICC profile; convert as PIL does.
      const { data, info } = await sharp(bytes, { failOn: "error" })
        .pipelineColourspace("cmyk").toColourspace("cmyk")
        .raw().toBuffer({ resolveWithObject: true });
      const px = info.width * info.height;
      return { data: cmykToRgb(data, px), width: info.width, height: info.height, channels: 3 };
    }
    const { data, info } = await sharp(bytes, { failOn: "error" })
      .removeAlpha()
      .raw({ depth: "uchar" })
      .toBuffer({ resolveWithObject: true });
    return toRgb({
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.height,
      channels: info.channels,
    });
  };
}

/** What the native fast path needs to know of the transform. */
export interface FastTransformConfig {
  /** RandomResizedCrop + flip (train) or Resize + CenterCrop (test). */
  augment: boolean;
  /** Output side. */
  cropSize: number;
  /** Shorter side before the center crop (test). */
  resizeSize: number;
}

/**
 * Decodes and transforms in one libvips pipeline; returns uint8 HWC RGB
 * holding the `cropSize²` result, or undefined when the image needs the exact path (a test
 * image smaller than the resize). `box` (train: the RandomResizedCrop box)
 * is computed by the caller from the image size given to `plan`.
 */
export type FastTransform = (
  bytes: Uint8Array,
  cfg: FastTransformConfig,
  plan: (size: { width: number; height: number }) => { box: CropBoxLike; flip: boolean },
) => Promise<FastImage | undefined>;

/** The fast path's output: HWC RGB holding the `cropSize²` result at (`left`, `top`). */
export interface FastImage {
  /** uint8 HWC RGB pixels. */
  data: Uint8Array;
  /** Width of `data` in pixels. */
  width: number;
  /** Column of the result's left edge. */
  left: number;
  /** Row of the result's top edge. */
  top: number;
}

/** A crop rectangle (same fields as `CropBox` of transforms.ts). */
export interface CropBoxLike {
  /** Row of the top edge. */
  top: number;
  /** Column of the left edge. */
  left: number;
  /** Height in pixels. */
  height: number;
  /** Width in pixels. */
  width: number;
}

/**
 * Loads the native fast path: sharp/libvips decodes, crops (`extract`),
 * resizes (triangle filter, antialiased when reducing) and flips in C. When
 * the crop is at least twice the output on both sides the whole image is
 * resized first and the crop cut after, so that libjpeg's DCT-domain
 * shrink-on-load (1/2, 1/4, 1/8) applies, as DALI and FFCV do.
 *
 * @returns The transform function.
 */
export async function loadFastTransform(): Promise<FastTransform> {
  const sharp = await importSharp();
  return async (bytes, cfg, plan) => {
    const s = cfg.cropSize;
    const img = sharp(bytes, { failOn: "error" });
    // The size from the JPEG header in JS saves a native metadata() call (~0.4 ms).
    const head = jpegHeader(bytes);
    const meta = head ? undefined : await img.metadata();
    const width = head?.width ?? meta?.width ?? 0;
    const height = head?.height ?? meta?.height ?? 0;
    if (!(width > 0 && height > 0)) throw new Error("no image size in the header");
    const cmyk = head ? head.components === 4 : meta?.space === "cmyk";
    if (cmyk) img.pipelineColourspace("cmyk");
    // The triangle filter is PIL's bilinear; sharp 0.33 has it but its types omit it.
    const linear = { fit: "fill", kernel: "linear" } as unknown as import("sharp").ResizeOptions;
    if (cfg.augment) {
      const { box, flip } = plan({ width, height });
      if (box.width >= 2 * s && box.height >= 2 * s) {
        // Resize all, then cut: lets libjpeg decode at 1/2, 1/4 or 1/8.
        const rw = Math.max(s, Math.round(width * s / box.width));
        const rh = Math.max(s, Math.round(height * s / box.height));
        img.resize(rw, rh, linear).extract({
          left: Math.min(Math.round(box.left * s / box.width), rw - s),
          top: Math.min(Math.round(box.top * s / box.height), rh - s),
          width: s,
          height: s,
        });
      } else {
        // Reduce (antialiased triangle filter) the sides longer than the
        // output; enlarge the shorter ones with a bilinear affine placed on
        // PIL's pixel centres (in = (out + ½)·in/out − ½): libvips's own
        // upsizing in resize() is off by a fraction of a pixel from PIL's.
        const dw = Math.min(box.width, s);
        const dh = Math.min(box.height, s);
        img.extract(box);
        if (dw !== box.width || dh !== box.height) img.resize(dw, dh, linear);
        if (dw < s || dh < s) {
          img.affine([s / dw, 0, 0, s / dh], {
            idx: 0.5,
            idy: 0.5,
            odx: -0.5,
            ody: -0.5,
            interpolator: "bilinear",
          });
        }
      }
      // Mirroring commutes with the (symmetric) resampling.
      if (flip) img.flop();
    } else {
      const short = Math.min(width, height);
      const long = Math.max(width, height);
      const newLong = Math.floor(cfg.resizeSize * long / short);
      const [rw, rh] = width <= height ? [cfg.resizeSize, newLong] : [newLong, cfg.resizeSize];
      // libvips crops after an affine only in a second pass: leave enlarging to the exact path.
      if (rw > width || rh > height) return undefined;
      img.resize(rw, rh, linear).extract({
        left: roundEven((rw - s) / 2),
        top: roundEven((rh - s) / 2),
        width: s,
        height: s,
      });
    }
    const { data, info } = cmyk
      ? await img.toColourspace("cmyk").raw().toBuffer({ resolveWithObject: true })
      : await img.removeAlpha().toColourspace("srgb").raw({ depth: "uchar" })
        .toBuffer({ resolveWithObject: true });
    if (
      info.channels !== (cmyk ? 4 : 3) || info.width < s || info.height < s
    ) {
      throw new Error(
        `transformed to ${info.width}×${info.height}×${info.channels}, expected ${s}×${s}×3`,
      );
    }
    const px = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    return {
      data: cmyk ? cmykToRgb(px, info.width * info.height) : px,
      width: info.width,
      left: 0,
      top: 0,
    };
  };
}

function roundEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

async function loadJsquash(): Promise<JpegDecoder> {
  const { decode } = await import("@jsquash/jpeg");
  return async (bytes) => {
    const img = await decode(bytes.slice().buffer);
    if (!img || !img.width) throw new Error("not a decodable JPEG");
    return {
      data: img.data as Uint8ClampedArray,
      width: img.width,
      height: img.height,
      channels: 4,
    };
  };
}

const cache = new Map<DecoderName, Promise<JpegDecoder>>();

/**
 * Loads a JPEG decoder. Without a name, sharp is tried first and @jsquash/jpeg
 * is used when sharp cannot be loaded.
 *
 * @param name The decoder to load (default: sharp, falling back to jsquash).
 * @returns The decode function.
 */
export function loadDecoder(name?: DecoderName): Promise<JpegDecoder> {
  if (name === undefined) {
    return loadDecoder("sharp").catch(() => loadDecoder("jsquash"));
  }
  let p = cache.get(name);
  if (!p) {
    p = name === "sharp" ? loadSharp() : loadJsquash();
    p.catch(() => cache.delete(name));
    cache.set(name, p);
  }
  return p;
}

/** Options for {@linkcode encodeJpeg}. */
export interface EncodeJpegOptions {
  /** JPEG quality 1-100 (default 90). */
  quality?: number;
}

/**
 * Encodes an RGBA image as JPEG with @jsquash/jpeg (used to generate test and
 * benchmark images).
 *
 * @param image RGBA pixels (`channels` must be 4).
 * @param options The quality.
 * @returns The JPEG bytes.
 */
export async function encodeJpeg(
  image: RawImage,
  options: EncodeJpegOptions = {},
): Promise<Uint8Array> {
  const { encode } = await import("@jsquash/jpeg");
  const data = new Uint8ClampedArray(
    image.data.buffer,
    image.data.byteOffset,
    image.data.byteLength,
  );
  const out = await encode(
    { data, width: image.width, height: image.height, colorSpace: "srgb" } as ImageData,
    { quality: options.quality ?? 90 },
  );
  return new Uint8Array(out);
}

/**
 * Makes a smooth synthetic RGBA test image (gradients and sines, so JPEG sizes
 * are photo-like rather than noise-like).
 *
 * @param size Width and height.
 * @param seed Varies the pattern.
 * @returns RGBA pixels.
 */
export function syntheticImage(size: { width: number; height: number }, seed = 0): RawImage {
  const { width: w, height: h } = size;
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      data[i] = (128 + 100 * Math.sin(x / (11 + (seed % 7)) + y / 29 + seed)) | 0;
      data[i + 1] = ((y * 255) / h + seed * 37) & 255;
      data[i + 2] = ((x * y) / 97 + seed * 11) & 255;
      data[i + 3] = 255;
    }
  }
  return { data, width: w, height: h, channels: 4 };
}
