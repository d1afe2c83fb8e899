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
  // Grayscale (or gray+alpha) to RGB.
  const n = img.width * img.height;
  const data = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const v = img.data[i * img.channels];
    data[3 * i] = data[3 * i + 1] = data[3 * i + 2] = v;
  }
  return { data, width: img.width, height: img.height, channels: 3 };
}

async function loadSharp(): Promise<JpegDecoder> {
  const sharp = (await import("sharp")).default;
  sharp.concurrency(1);
  sharp.cache(false);
  return async (bytes) => {
    const { data, info } = await sharp(bytes, { failOn: "error" })
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    return toRgb({
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.height,
      channels: info.channels,
    });
  };
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
