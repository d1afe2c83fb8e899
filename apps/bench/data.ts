/**
 * Loader throughput per dataset, in images/s, from the datasets package's
 * benchmark (which reports CIFAR and MNIST in batches of 128 per second).
 *
 * @module
 */
import { benchDatasets } from "@agd/datasets/bench";

/** One data pipeline's throughput. */
export interface DataResult {
  /** Dataset name. */
  dataset: string;
  /** What was timed. */
  pipeline: string;
  /** Images per second. */
  imagesPerSec: number;
}

/** Options of {@link benchData}. */
export interface DataOptions {
  /** A short run (fewer images and batches). */
  quick: boolean;
  /** Progress lines. */
  log?: (message: string) => void;
}

/**
 * Images/s of each dataset's training pipeline: Fashion-MNIST (real files
 * when installed) and CIFAR-10 through the batch loader, ImageNet JPEGs
 * through decode + RandomResizedCrop + flip + normalize on one worker and on
 * every core, and the two JPEG decoders alone.
 *
 * @param options quick, log
 * @returns one row per pipeline
 */
export async function benchData(options: DataOptions): Promise<DataResult[]> {
  const { quick } = options;
  const raw = await benchDatasets({
    images: quick ? 8 : 32,
    samples: quick ? 48 : 192,
    batches: quick ? 30 : 100,
    log: options.log,
  });
  const rows: DataResult[] = [];
  const add = (dataset: string, pipeline: string, value: number | undefined) => {
    if (value !== undefined) rows.push({ dataset, pipeline, imagesPerSec: value });
  };
  // The CIFAR and MNIST figures are batches of 128 per second.
  add(
    "fashion-mnist (mnist format)",
    "loader b128, shuffle, normalize",
    raw.mnist_b128_batches_s * 128,
  );
  add(
    "cifar10 / cifar100",
    "loader b128, crop + flip + normalize",
    raw.cifar10_train_b128_batches_s * 128,
  );
  add(
    "imagenet",
    "JPEG decode + RandomResizedCrop 224 + flip, 1 worker",
    raw.imagenet_train_1core_img_s,
  );
  add(
    "imagenet",
    `JPEG decode + RandomResizedCrop 224 + flip, ${raw.workers} workers`,
    raw.imagenet_train_allcores_img_s,
  );
  add("imagenet", "JPEG decode only (sharp, 500×375)", raw.decode_sharp_img_s);
  add("imagenet", "JPEG decode only (@jsquash/jpeg, 500×375)", raw.decode_jsquash_img_s);
  return rows;
}
