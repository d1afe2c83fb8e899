/**
 * JPEG decoding with the system's libjpeg-turbo (TurboJPEG over FFI, see
 * `turbojpeg.ts`), sharp (libvips + mozjpeg, native) or @jsquash/jpeg
 * (libjpeg-turbo compiled to WASM). Measured in Deno 2.9.6 on a 2-core
 * x86-64 machine, one thread, 330–500 px q90 JPEGs: TurboJPEG 1.7 ms per
 * image, sharp 3.1 ms (0.5 ms of it the cost of any libvips call); on
 * 500×375: sharp 133-181 img/s vs jsquash 94-125 img/s. TurboJPEG is the
 * default; sharp is used when it is not installed and for non-JPEG bytes;
 * jsquash when sharp's native binary cannot be loaded (see README.md and
 * `bench.ts`).
 *
 * @module
 */

import type { RawImage } from "./transforms.ts";
import { cmykToRgb, jpegComponents, type JpegDecoder, jpegHeader } from "./jpeg_format.ts";
import { loadTurboJpeg } from "./turbojpeg.ts";

export {
  cmykToRgb,
  jpegComponents,
  type JpegDecoder,
  type JpegHeader,
  jpegHeader,
} from "./jpeg_format.ts";

/** Available JPEG decoders. */
export type DecoderName = "turbojpeg" | "sharp" | "jsquash";

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

const cache = new Map<DecoderName | "default", Promise<JpegDecoder>>();

const LOADERS: Record<DecoderName, () => Promise<JpegDecoder>> = {
  turbojpeg: loadTurboJpeg,
  sharp: loadSharp,
  jsquash: loadJsquash,
};

/** sharp, or @jsquash/jpeg when sharp's native binary cannot be loaded. */
function loadSharpOrJsquash(): Promise<JpegDecoder> {
  return loadDecoder("sharp").catch(() => loadDecoder("jsquash"));
}

/**
 * TurboJPEG for JPEG bytes, and sharp (or jsquash) for what is not a JPEG
 * (a PNG saved with a `.JPEG` name, as in ImageNet's train set); sharp
 * alone when TurboJPEG cannot be loaded.
 */
async function loadDefault(): Promise<JpegDecoder> {
  let turbo: JpegDecoder;
  try {
    turbo = await loadDecoder("turbojpeg");
  } catch {
    return loadSharpOrJsquash();
  }
  let other: Promise<JpegDecoder> | undefined;
  return async (bytes) => {
    if (jpegHeader(bytes)) return turbo(bytes);
    other ??= loadSharpOrJsquash();
    return (await other)(bytes);
  };
}

/**
 * Loads a JPEG decoder. Without a name, TurboJPEG (the system's
 * libjpeg-turbo, as PIL uses) decodes JPEGs and sharp everything else;
 * when TurboJPEG is not installed sharp decodes all, and @jsquash/jpeg when
 * sharp cannot be loaded.
 *
 * @param name The decoder to load (default: the chain above).
 * @returns The decode function.
 */
export function loadDecoder(name?: DecoderName): Promise<JpegDecoder> {
  const key = name ?? "default";
  let p = cache.get(key);
  if (!p) {
    p = name === undefined ? loadDefault() : LOADERS[name]();
    p.catch(() => cache.delete(key));
    cache.set(key, p);
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
