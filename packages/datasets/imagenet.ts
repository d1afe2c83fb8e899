/**
 * ImageNet-style datasets: an ImageFolder layout (`<split>/<class>/*.JPEG`,
 * class index = position of the folder name in sorted order, like
 * torchvision) or WebDataset tar shards (`*.tar` with `key.jpg` + `key.cls`).
 * Images are read lazily and decoded + transformed in Web Workers.
 *
 * @module
 */

import type { Dataset, LoadOptions, LoadResult } from "./array_dataset.ts";
import { type DatasetInfo, datasetInfo, type Split } from "./info.ts";
import type { DecoderName } from "./jpeg.ts";
import {
  type ImageProcessor,
  imageProcessor,
  type ImageTransformConfig,
  processItems,
} from "./_pipeline.ts";
import type { WorkRequest, WorkResponse } from "./_imagenet_worker.ts";
import { closeOpenFiles, indexTar, readAt } from "./_tar.ts";
import { seedFrom } from "./rng.ts";

/** One image: a file, or a byte range of a tar shard. */
export interface ImageSample {
  /** File (or shard) path. */
  path: string;
  /** Byte offset inside a shard, or -1 for a whole file. */
  offset: number;
  /** Byte size inside a shard (unused for whole files). */
  size: number;
  /** Class index. */
  label: number;
}

/** The samples of an image collection and its class names. */
export interface ImageIndex {
  /** Class names (folder names; for shards, the class indices as text). */
  classes: string[];
  /** Samples in a stable order (sorted by class, then file name; or shard order). */
  samples: ImageSample[];
}

/** torchvision's `IMG_EXTENSIONS` that libvips reads (not .ppm/.pgm/.bmp); the content decides the decoder. */
const IMAGE_EXT = /\.(jpe?g|png|webp|tiff?)$/i;

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Lists `dir/<class>/*.jpg|*.jpeg|*.png|*.webp|*.tif|*.tiff` like
 * torchvision's ImageFolder (a class folder without images is an error, as
 * there).
 *
 * @param dir The split folder.
 * @returns Classes (sorted folder names) and samples.
 */
export async function scanImageFolder(dir: string): Promise<ImageIndex> {
  const classes: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) if (e.isDirectory) classes.push(e.name);
  } catch (e) {
    throw new Error(`Cannot read ${dir}: ${(e as Error).message}; pass an ImageNet split folder.`);
  }
  classes.sort(byCodePoint);
  if (classes.length === 0) {
    throw new Error(
      `Cannot use ${dir}: it has no class folders; put images in ${dir}/<class>/*.JPEG.`,
    );
  }
  const samples: ImageSample[] = [];
  for (let label = 0; label < classes.length; label++) {
    const cdir = `${dir}/${classes[label]}`;
    const names: string[] = [];
    for await (const e of Deno.readDir(cdir)) {
      if (e.isFile && IMAGE_EXT.test(e.name)) names.push(e.name);
    }
    if (names.length === 0) {
      throw new Error(
        `Cannot use class folder ${cdir}: it contains no images (.JPEG, .jpg, .png, .webp, .tif); add images or remove the folder.`,
      );
    }
    names.sort(byCodePoint);
    for (const n of names) samples.push({ path: `${cdir}/${n}`, offset: -1, size: 0, label });
  }
  return { classes, samples };
}

/**
 * Indexes WebDataset shards: pairs `key.jpg`/`key.jpeg` with `key.cls`
 * (decimal class index) in each tar, reading only headers and the small
 * `.cls` entries.
 *
 * @param shards Tar file paths, in order.
 * @returns Samples and classes (`0 .. max label`).
 */
export async function scanTarShards(shards: readonly string[]): Promise<ImageIndex> {
  try {
    return await scanShards(shards);
  } finally {
    closeOpenFiles();
  }
}

async function scanShards(shards: readonly string[]): Promise<ImageIndex> {
  const samples: ImageSample[] = [];
  let maxLabel = -1;
  for (const shard of shards) {
    const groups = new Map<
      string,
      { jpg?: { offset: number; size: number }; cls?: { offset: number; size: number } }
    >();
    const order: string[] = [];
    for (const e of await indexTar(shard)) {
      const slash = e.name.lastIndexOf("/");
      const dot = e.name.indexOf(".", slash + 1);
      if (dot < 0) continue;
      const key = e.name.slice(0, dot);
      const ext = e.name.slice(dot + 1).toLowerCase();
      let g = groups.get(key);
      if (!g) {
        groups.set(key, g = {});
        order.push(key);
      }
      if (ext === "jpg" || ext === "jpeg") g.jpg = e;
      else if (ext === "cls") g.cls = e;
    }
    for (const key of order) {
      const g = groups.get(key)!;
      if (!g.jpg || !g.cls) continue;
      const text = new TextDecoder().decode(await readAt(shard, g.cls.offset, g.cls.size)).trim();
      const label = Number(text);
      if (!/^\d+$/.test(text) || !Number.isSafeInteger(label)) {
        throw new Error(
          `Cannot read ${shard}: ${key}.cls is "${
            text.slice(0, 20)
          }", expected a decimal class index; fix the shard.`,
        );
      }
      maxLabel = Math.max(maxLabel, label);
      samples.push({ path: shard, offset: g.jpg.offset, size: g.jpg.size, label });
    }
  }
  if (samples.length === 0) {
    throw new Error(
      `Cannot use shards ${
        shards.join(", ")
      }: no key.jpg + key.cls pairs found; write WebDataset tars.`,
    );
  }
  return { classes: Array.from({ length: maxLabel + 1 }, (_, i) => String(i)), samples };
}

/** Options of ImageNet datasets. */
export interface ImageNetOptions {
  /** RandomResizedCrop + flip (default: true for "train") or Resize + CenterCrop. */
  augment?: boolean;
  /** Output side (default 224). */
  cropSize?: number;
  /** Shorter side before the center crop of the test transform (default 256). */
  resizeSize?: number;
  /** RandomResizedCrop area range (default [0.08, 1]). */
  scale?: [number, number];
  /** RandomResizedCrop aspect ratio range (default [3/4, 4/3]). */
  ratio?: [number, number];
  /** Antialiased bilinear resize like PIL (default true). */
  antialias?: boolean;
  /** Apply Normalize after ToTensor (default true). */
  normalize?: boolean;
  /** Decoder workers (default `navigator.hardwareConcurrency`; 0 decodes on the main thread). */
  workers?: number;
  /** JPEG decoder of the exact path (default sharp, falling back to @jsquash/jpeg). */
  decoder?: DecoderName;
  /**
   * torchvision's arithmetic (default true): decode, then PIL's antialiased
   * bilinear in JS, bit-for-bit within 1/255. `false` selects the native
   * fast path: libvips crops, resizes (triangle filter, its own rounding,
   * JPEG shrink-on-load for large crops) and flips in C, with the same crop
   * boxes and flips; pixels differ from torchvision's by about 1/255 on
   * average (see README.md). It needs sharp.
   */
  exact?: boolean;
  /** Number of classes (default: class folders, or max label + 1 for shards). */
  classes?: number;
  /** Split recorded in the dataset (default "train"). */
  split?: Split;
}

interface Pending {
  resolve: (r: WorkResponse) => void;
  reject: (e: Error) => void;
}

/** A fixed pool of ImageNet decode workers, created lazily. */
class WorkerPool {
  #size: number;
  #workers: Worker[] = [];
  #busy: number[] = [];
  #pending = new Map<number, Pending & { worker: number }>();
  #nextId = 0;

  constructor(size: number) {
    this.#size = size;
  }

  #start(): void {
    for (let i = 0; i < this.#size; i++) {
      this.#workers.push(this.#spawn(i));
      this.#busy.push(0);
    }
  }

  #spawn(i: number): Worker {
    const w = new Worker(new URL("./_imagenet_worker.ts", import.meta.url), { type: "module" });
    w.onmessage = (e: MessageEvent<WorkResponse>) => {
      const p = this.#pending.get(e.data.id);
      if (!p) return;
      this.#pending.delete(e.data.id);
      this.#busy[p.worker]--;
      if (e.data.fatal) p.reject(new Error(e.data.fatal));
      else p.resolve(e.data);
    };
    w.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      // A dead worker never answers: fail its requests and start a fresh one.
      for (const [id, p] of this.#pending) {
        if (p.worker === i) {
          this.#pending.delete(id);
          p.reject(new Error(`ImageNet decode worker failed: ${e.message}`));
        }
      }
      w.terminate();
      if (this.#workers[i] === w) this.#workers[i] = this.#spawn(i);
      this.#busy[i] = 0;
    };
    return w;
  }

  run(req: Omit<WorkRequest, "id">): Promise<WorkResponse> {
    if (this.#workers.length === 0) this.#start();
    let best = 0;
    for (let i = 1; i < this.#workers.length; i++) if (this.#busy[i] < this.#busy[best]) best = i;
    const id = this.#nextId++;
    this.#busy[best]++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, worker: best });
      this.#workers[best].postMessage({ ...req, id });
    });
  }

  close(): void {
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
    this.#busy = [];
    for (const p of this.#pending.values()) p.reject(new Error("The ImageNet dataset was closed."));
    this.#pending.clear();
  }
}

/** An ImageNet-style dataset read lazily from a folder or tar shards. */
export class ImageNetDataset implements Dataset {
  /** Metadata (height/width are the crop size). */
  readonly info: DatasetInfo;
  /** The split. */
  readonly split: Split;
  /** Number of samples. */
  readonly length: number;
  /** Whether RandomResizedCrop + flip is applied. */
  readonly augment: boolean;
  /** Class names and samples. */
  readonly index: ImageIndex;
  #config: ImageTransformConfig;
  #pool?: WorkerPool;
  #workers: number;
  #decoder?: DecoderName;
  #local?: Promise<ImageProcessor>;
  /** Batches being loaded by the workers now. */
  #loading = 0;

  /**
   * Creates the dataset from an index.
   *
   * @param index Classes and samples, from {@linkcode scanImageFolder} or {@linkcode scanTarShards}.
   * @param options Transform, worker and decoder options.
   */
  constructor(index: ImageIndex, options: ImageNetOptions = {}) {
    this.index = index;
    this.split = options.split ?? "train";
    this.length = index.samples.length;
    this.augment = options.augment ?? this.split === "train";
    const base = datasetInfo("imagenet");
    const crop = options.cropSize ?? 224;
    this.info = {
      ...base,
      height: crop,
      width: crop,
      classes: options.classes ?? index.classes.length,
      trainSize: this.split === "train" ? this.length : base.trainSize,
      testSize: this.split === "test" ? this.length : base.testSize,
    };
    this.#config = {
      augment: this.augment,
      cropSize: crop,
      resizeSize: options.resizeSize ?? Math.round(crop * 256 / 224),
      scale: options.scale ?? [0.08, 1],
      ratio: options.ratio ?? [3 / 4, 4 / 3],
      antialias: options.antialias ?? true,
      mean: [...base.mean],
      std: [...base.std],
      normalize: options.normalize ?? true,
      exact: options.exact ?? true,
    };
    this.#workers = options.workers ?? navigator.hardwareConcurrency ?? 1;
    this.#decoder = options.decoder;
  }

  /** Decode workers, each working on its own batch (at least 1). */
  get parallelism(): number {
    return Math.max(1, this.#workers);
  }

  /**
   * Label of a sample.
   *
   * @param index The sample index.
   * @returns Its class index.
   */
  labelOf(index: number): number {
    return this.index.samples[index].label;
  }

  /**
   * Reads, decodes, transforms and normalizes samples, in parallel workers.
   * Undecodable images are left out and reported in `skipped`/`errors`.
   *
   * @param indices Sample indices.
   * @param options Seed and epoch.
   * @returns The batch.
   */
  async load(indices: ArrayLike<number>, options: LoadOptions): Promise<LoadResult> {
    const n = indices.length;
    const items = Array.from({ length: n }, (_, k) => {
      const i = indices[k];
      const s = this.index.samples[i];
      if (!s) {
        throw new RangeError(
          `Cannot load sample ${i} of ImageNet: valid indices are 0..${this.length - 1}.`,
        );
      }
      return {
        path: s.path,
        offset: s.offset,
        size: s.size,
        seed: seedFrom([options.seed, options.epoch, i]),
      };
    });
    const plane = 3 * this.#config.cropSize * this.#config.cropSize;
    const parts: WorkResponse[] = [];
    if (this.#workers <= 0) {
      parts.push(await this.#loadLocal(items));
    } else {
      this.#pool ??= new WorkerPool(this.#workers);
      // Split a batch over the workers only as far as the batches already
      // loading leave some idle: a loader prefetching as many batches as
      // there are workers gives each worker whole batches, whose pixels
      // then reach the caller without a copy.
      const split = Math.max(1, Math.floor(this.#workers / (this.#loading + 1)));
      const chunk = Math.ceil(n / split);
      const reqs: Promise<WorkResponse>[] = [];
      for (let s = 0; s < n; s += chunk) {
        reqs.push(
          this.#pool.run({
            decoder: this.#decoder,
            config: this.#config,
            items: items.slice(s, s + chunk),
          }),
        );
      }
      this.#loading++;
      try {
        parts.push(...await Promise.all(reqs));
      } finally {
        this.#loading--;
      }
    }
    if (parts.length === 1) return this.#compact(parts[0], indices, plane);
    let good = 0;
    for (const p of parts) for (const o of p.ok) good += o;
    const images = new Float32Array(good * plane);
    const labels = new Int32Array(good);
    const errors: string[] = [];
    let k = 0;
    let m = 0;
    for (const p of parts) {
      errors.push(...p.errors);
      for (let j = 0; j < p.ok.length; j++, k++) {
        if (!p.ok[j]) continue;
        images.set(p.images.subarray(j * plane, (j + 1) * plane), m * plane);
        labels[m++] = this.index.samples[indices[k]].label;
      }
    }
    return { images, labels, size: good, skipped: n - good, errors };
  }

  /** The batch of one response, in its own buffer: failed samples' planes are squeezed out in place. */
  #compact(part: WorkResponse, indices: ArrayLike<number>, plane: number): LoadResult {
    const { images, ok } = part;
    const labels = new Int32Array(ok.length);
    let m = 0;
    for (let j = 0; j < ok.length; j++) {
      if (!ok[j]) continue;
      if (m !== j) images.copyWithin(m * plane, j * plane, (j + 1) * plane);
      labels[m++] = this.index.samples[indices[j]].label;
    }
    return {
      images: m === ok.length ? images : images.subarray(0, m * plane),
      labels: m === ok.length ? labels : labels.subarray(0, m),
      size: m,
      skipped: ok.length - m,
      errors: part.errors,
    };
  }

  async #loadLocal(items: WorkRequest["items"]): Promise<WorkResponse> {
    const cfg = this.#config;
    this.#local ??= imageProcessor(cfg, this.#decoder);
    this.#local.catch(() => this.#local = undefined);
    const plane = 3 * cfg.cropSize * cfg.cropSize;
    return { id: 0, ...await processItems(await this.#local, plane, items) };
  }

  /** Terminates the decode workers (and closes the shards read on this thread). */
  close(): void {
    this.#pool?.close();
    this.#pool = undefined;
    closeOpenFiles();
  }

  /** Same as {@linkcode ImageNetDataset.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Opens an ImageNet split folder: WebDataset mode when it holds `*.tar`
 * files, else ImageFolder mode (`<class>/*.JPEG`).
 *
 * @param dir The split folder (e.g. `imagenet/train`).
 * @param options Transform, worker and decoder options.
 * @returns The dataset; call `close()` to stop its workers.
 */
export async function openImageNet(
  dir: string,
  options: ImageNetOptions = {},
): Promise<ImageNetDataset> {
  const shards: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && e.name.endsWith(".tar")) shards.push(`${dir}/${e.name}`);
    }
  } catch (e) {
    throw new Error(
      `Cannot read ${dir}: ${
        (e as Error).message
      }; put <class>/*.JPEG folders or WebDataset .tar shards there.`,
    );
  }
  shards.sort(byCodePoint);
  const index = shards.length > 0 ? await scanTarShards(shards) : await scanImageFolder(dir);
  return new ImageNetDataset(index, options);
}
