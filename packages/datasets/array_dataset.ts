/**
 * The dataset interface and {@linkcode ArrayDataset}, a dataset held in memory
 * (MNIST, Fashion-MNIST, CIFAR, or any uint8 images with labels). Nothing here
 * reads files, so a web page can use it with arrays it fetched or generated.
 *
 * @module
 */

import type { DatasetInfo, Split } from "./info.ts";
import type { ArrayData } from "./mnist.ts";
import { Random, seedFrom } from "./rng.ts";
import { Normalizer, padCropFlip, randomCropParams } from "./transforms.ts";

/** A batch of normalized images and their labels. */
export interface Batch {
  /** Images, `size × C × H × W` float32, normalized. */
  images: Float32Array;
  /** Class indices, one per image. */
  labels: Int32Array;
  /** Number of samples in the batch. */
  size: number;
}

/** A loaded batch plus the samples skipped because they could not be decoded. */
export interface LoadResult extends Batch {
  /** Number of requested samples left out. */
  skipped: number;
  /** One message per skipped sample, naming the file and the problem. */
  errors: string[];
}

/** Seed and epoch that determine the random augmentation of a batch. */
export interface LoadOptions {
  /** Base seed. */
  seed: number;
  /** Epoch number (mixed into every sample's seed). */
  epoch: number;
}

/** A dataset split that can load transformed batches by sample index. */
export interface Dataset {
  /** Metadata; height/width are those of the output tensors. */
  readonly info: DatasetInfo;
  /** The split. */
  readonly split: Split;
  /** Number of samples. */
  readonly length: number;
  /** Whether random augmentation is applied. */
  readonly augment: boolean;
  /**
   * Label of a sample.
   *
   * @param index The sample index.
   * @returns Its class index.
   */
  labelOf(index: number): number;
  /**
   * Loads, transforms and normalizes samples. Sample `i` is augmented with the
   * seed `seedFrom([seed, epoch, i])`, so results do not depend on batching,
   * workers or rank.
   *
   * @param indices Sample indices.
   * @param options Seed and epoch.
   * @returns The batch, leaving out undecodable samples.
   */
  load(indices: ArrayLike<number>, options: LoadOptions): Promise<LoadResult>;
  /**
   * Batches `load` works on at once (its decode workers; default 1). The
   * loader keeps two per unit in flight, as PyTorch's `prefetch_factor`, so
   * that a worker done with its batch has the next one while the batch
   * before it, on another worker, is still being decoded.
   */
  readonly parallelism?: number;
  /** Releases workers and other resources. */
  close(): void;
}

/** Transform options of in-memory datasets. */
export interface ArrayDatasetOptions {
  /** RandomCrop(H, padding) + RandomHorizontalFlip (default: true for CIFAR train, false otherwise). */
  augment?: boolean;
  /** Zero padding of the random crop (default 4). */
  padding?: number;
  /** Apply Normalize with the dataset's mean/std after ToTensor (default true). */
  normalize?: boolean;
}

/** A dataset held in memory as uint8 (MNIST, Fashion-MNIST, CIFAR). */
export class ArrayDataset implements Dataset {
  /** Metadata. */
  readonly info: DatasetInfo;
  /** The split. */
  readonly split: Split;
  /** Number of samples. */
  readonly length: number;
  /** Whether RandomCrop + flip is applied. */
  readonly augment: boolean;
  /** The uint8 images and labels. */
  readonly data: ArrayData;
  #padding: number;
  #normalizer: Normalizer;

  /**
   * Wraps uint8 images (N×C×H×W, shape from `info`) and labels.
   *
   * @param data The images and labels.
   * @param options Metadata, split and transform options.
   */
  constructor(
    data: ArrayData,
    options: ArrayDatasetOptions & { info: DatasetInfo; split: Split },
  ) {
    const { info } = options;
    const plane = info.channels * info.height * info.width;
    if (data.images.length !== data.count * plane || data.labels.length !== data.count) {
      throw new Error(
        `Cannot use ${info.name} arrays: ${data.images.length} image bytes and ${data.labels.length} labels do not match ${data.count} samples of ${info.channels}×${info.height}×${info.width}; pass consistent arrays.`,
      );
    }
    this.data = data;
    this.info = { ...info };
    this.split = options.split;
    this.length = data.count;
    this.augment = options.augment ?? (options.split === "train" && info.name.startsWith("cifar"));
    this.#padding = options.padding ?? 4;
    this.#normalizer = new Normalizer(
      options.normalize ?? true ? info : {
        mean: info.mean.map(() => 0),
        std: info.std.map(() => 1),
      },
    );
  }

  /**
   * Label of a sample.
   *
   * @param index The sample index.
   * @returns Its class index.
   */
  labelOf(index: number): number {
    return this.data.labels[index];
  }

  /**
   * Loads samples synchronously from memory (wrapped in a promise).
   *
   * @param indices Sample indices.
   * @param options Seed and epoch for augmentation.
   * @returns The batch (nothing is ever skipped).
   */
  load(indices: ArrayLike<number>, options: LoadOptions): Promise<LoadResult> {
    const { channels: c, height: h, width: w } = this.info;
    const plane = c * h * w;
    const n = indices.length;
    const images = new Float32Array(n * plane);
    const labels = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      const i = indices[k];
      if (!(i >= 0 && i < this.length)) {
        throw new RangeError(
          `Cannot load sample ${i} of ${this.info.name}: valid indices are 0..${this.length - 1}.`,
        );
      }
      let img = this.data.images.subarray(i * plane, (i + 1) * plane);
      if (this.augment) {
        const rng = new Random(seedFrom([options.seed, options.epoch, i]));
        const box = randomCropParams(rng, { height: h, width: w, size: h, padding: this.#padding });
        const flip = rng.next() < 0.5;
        img = padCropFlip(img, {
          channels: c,
          height: h,
          width: w,
          padding: this.#padding,
          box,
          flip,
        });
      }
      this.#normalizer.apply(img, images, k * plane);
      labels[k] = this.data.labels[i];
    }
    return Promise.resolve({ images, labels, size: n, skipped: 0, errors: [] });
  }

  /** Nothing to release. */
  close(): void {}
}
