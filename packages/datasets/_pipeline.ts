// ImageNet per-image transform shared by the worker and the main thread (private).

import { type DecoderName, type JpegDecoder, loadDecoder, loadFastTransform } from "./jpeg.ts";
import { Random } from "./rng.ts";
import { readAt } from "./_tar.ts";
import {
  centerCropBox,
  type ImageSize,
  Normalizer,
  randomResizedCropParams,
  type RawImage,
  resizedCrop,
  resizedCropInto,
  type ResizedCropOptions,
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
  /** torchvision's arithmetic in JS (true) or the libvips fast path (false). */
  exact: boolean;
}

/** The train or test transform's crop, resize, window and flip for one image. */
function imagenetResize(
  img: ImageSize,
  cfg: ImageTransformConfig,
  seed: number,
): ResizedCropOptions {
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
    return { box, height: s, width: s, flip, antialias: cfg.antialias };
  }
  const size = resizeShorterSide(img, cfg.resizeSize);
  const window = centerCropBox(size, s);
  return { ...size, window, antialias: cfg.antialias };
}

/** Applies the train or test transform; returns uint8 CHW of cropSize². */
export function imagenetTransform(
  img: RawImage,
  cfg: ImageTransformConfig,
  seed: number,
): Uint8Array {
  return resizedCrop(img, imagenetResize(img, cfg, seed));
}

/** Decodes, transforms and normalizes one image into `out` at `offset` (CHW floats). */
export type ImageProcessor = (
  bytes: Uint8Array,
  seed: number,
  out: Float32Array,
  offset: number,
) => Promise<void>;

/**
 * The per-image work for a config: the exact path (decode, then
 * torchvision's resampling in JS) or the fast one (one libvips pipeline).
 * Both draw the same crop boxes and flips from the same seed.
 */
export async function imageProcessor(
  cfg: ImageTransformConfig,
  decoder?: DecoderName,
): Promise<ImageProcessor> {
  const normalizer = new Normalizer(
    cfg.normalize ? cfg : { mean: [0, 0, 0], std: [1, 1, 1] },
  );
  if (cfg.exact) {
    const decode = await loadDecoder(decoder);
    return async (bytes, seed, out, offset) => {
      const img = await decode(bytes);
      resizedCropInto(img, imagenetResize(img, cfg, seed), normalizer, out, offset);
    };
  }
  const fast = await loadFastTransform();
  let decode: JpegDecoder | undefined;
  return async (bytes, seed, out, offset) => {
    const hwc = await fast(bytes, cfg, (size) => {
      const rng = new Random(seed);
      const box = randomResizedCropParams(rng, { ...size, scale: cfg.scale, ratio: cfg.ratio });
      return { box, flip: rng.next() < 0.5 };
    });
    if (hwc) {
      return normalizer.applyHwc(hwc.data, out, { ...hwc, size: cfg.cropSize, offset });
    }
    decode ??= await loadDecoder("sharp");
    normalizer.apply(imagenetTransform(await decode(bytes), cfg, seed), out, offset);
  };
}

/** One sample to load: a file, or a byte range of a shard, and its transform seed. */
export interface WorkItem {
  path: string;
  offset: number;
  size: number;
  seed: number;
}

/**
 * Images a worker has in flight at once: while libvips decodes one on its
 * own thread, the worker's JS thread reads the next file and normalizes the
 * previous image, so one worker keeps more than one core's worth of work
 * going.
 */
const IN_FLIGHT = 2;

/**
 * Runs the items of one request: reads each file (or shard range) and
 * processes it, {@link IN_FLIGHT} at a time; a file that cannot be read or
 * decoded is reported in `errors` (in item order) and left out (`ok` 0),
 * never thrown.
 */
export async function processItems(
  process: ImageProcessor,
  plane: number,
  items: readonly WorkItem[],
): Promise<{ images: Float32Array; ok: Uint8Array; errors: string[] }> {
  const images = new Float32Array(items.length * plane);
  const ok = new Uint8Array(items.length);
  const failures: (string | undefined)[] = new Array(items.length);
  const one = async (k: number): Promise<void> => {
    const it = items[k];
    const where = it.offset >= 0 ? `${it.path} at byte ${it.offset}` : it.path;
    let bytes: Uint8Array;
    try {
      bytes = it.offset >= 0
        ? await readAt(it.path, it.offset, it.size)
        : await Deno.readFile(it.path);
    } catch (e) {
      failures[k] = `${where}: cannot read (${(e as Error).message})`;
      return;
    }
    if (bytes.length === 0) {
      failures[k] = `${where}: not a decodable image (empty file)`;
      return;
    }
    try {
      // Each item writes only its own plane of `images`.
      await process(bytes, it.seed, images, k * plane);
      ok[k] = 1;
    } catch (e) {
      failures[k] = `${where}: not a decodable image (${(e as Error).message})`;
    }
  };
  let next = 0;
  const lane = async () => {
    while (next < items.length) await one(next++);
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, items.length) }, lane));
  return { images, ok, errors: failures.filter((f): f is string => f !== undefined) };
}
