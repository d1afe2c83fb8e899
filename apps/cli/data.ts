/**
 * A run's data: its train and test splits as configured (`--train-limit`,
 * `--test-limit`) and batches as tensors.
 *
 * @module
 */
import { type Batch, type Dataset, type DatasetName, openDataset } from "@agd/datasets";
import { type Tensor, tensor } from "@agd/tensor";
import type { TrainConfig } from "./args.ts";

/** The first `limit` samples of a dataset (quick runs and tests). */
class Subset implements Dataset {
  readonly info: Dataset["info"];
  readonly split: Dataset["split"];
  readonly augment: boolean;
  readonly length: number;
  readonly #inner: Dataset;

  constructor(inner: Dataset, limit: number) {
    this.#inner = inner;
    this.info = inner.info;
    this.split = inner.split;
    this.augment = inner.augment;
    this.length = Math.min(limit, inner.length);
  }

  labelOf(index: number): number {
    return this.#inner.labelOf(index);
  }

  load(
    indices: ArrayLike<number>,
    options: { seed: number; epoch: number },
  ): ReturnType<Dataset["load"]> {
    return this.#inner.load(indices, options);
  }

  close(): void {
    this.#inner.close();
  }
}

/** Opens the configured dataset's `split`, cut to `--train-limit` / `--test-limit`. */
export async function openSplit(config: TrainConfig, split: "train" | "test"): Promise<Dataset> {
  const ds = await openDataset(config.dataset as DatasetName, {
    split,
    dataDir: config.data_dir,
    download: !config.no_download,
    // One core stays with the trainer (and the GPU driver's thread).
    workers: config.workers ?? Math.max(1, (navigator.hardwareConcurrency ?? 2) - 1),
    exact: !config.data_fast,
  });
  const limit = split === "train" ? config.train_limit : config.test_limit;
  return limit ? new Subset(ds, limit) : ds;
}

/** A batch as tensors: images `[B, C, H, W]` and labels `[B]`, which the caller disposes. */
export function toTensors(batch: Batch, info: Dataset["info"]): [Tensor, Tensor] {
  const x = tensor(batch.images, { shape: [batch.size, info.channels, info.height, info.width] });
  return [x, tensor(batch.labels)];
}
