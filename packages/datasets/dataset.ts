/**
 * The dataset interface, in-memory datasets (MNIST, Fashion-MNIST, CIFAR) and
 * {@linkcode openDataset}, which finds, downloads and opens a dataset by name.
 * The interface and the in-memory datasets live in `array_dataset.ts`.
 *
 * @module
 */

import { ArrayDataset, type ArrayDatasetOptions, type Dataset } from "./array_dataset.ts";
import { loadCifar } from "./cifar.ts";
import { downloadDataset, type DownloadOptions } from "./download.ts";
import { datasetInfo, type DatasetName, type Split } from "./info.ts";
import { loadMnist, mnistFiles } from "./mnist.ts";
import {
  type DataDirOptions,
  dataRoot,
  dataRoots,
  datasetSubdir,
  findDatasetDir,
} from "./paths.ts";
import { type ImageNetOptions, openImageNet } from "./imagenet.ts";
import { cifarFiles } from "./cifar.ts";

// The in-memory part moved to array_dataset.ts (which a web page can import);
// re-exported here so that `./dataset.ts` keeps its exports.
export {
  ArrayDataset,
  type ArrayDatasetOptions,
  type Batch,
  type Dataset,
  type LoadOptions,
  type LoadResult,
} from "./array_dataset.ts";

/** Options for {@linkcode openDataset}. */
export interface OpenDatasetOptions extends DataDirOptions, ArrayDatasetOptions, ImageNetOptions {
  /** Split to open (default "train"). */
  split?: Split;
  /** Download MNIST/Fashion-MNIST/CIFAR into the data root when missing (default true). */
  download?: boolean;
  /** CIFAR-100 labels: "fine" (default) or "coarse" (20 classes). */
  labels?: "fine" | "coarse";
  /** ImageNet folder holding `train/` and `val/` (default `$IMAGENET_PATH`, else `<root>/imagenet`). */
  imagenetPath?: string;
  /** Fetch function and progress logger for downloads. */
  downloadOptions?: DownloadOptions;
}

function expectedFiles(name: DatasetName): string {
  if (name === "mnist" || name === "fashion-mnist") {
    const f = [mnistFiles("train"), mnistFiles("test")].flatMap((x) => [x.images, x.labels]);
    return f.map((x) => x + ".gz").join(", ");
  }
  if (name === "cifar10" || name === "cifar100") {
    return [...cifarFiles(name, "train"), ...cifarFiles(name, "test")].join(", ");
  }
  return "train/<class>/*.JPEG and val/<class>/*.JPEG (or WebDataset .tar shards in train/ and val/)";
}

/**
 * Opens a dataset split by name: finds it under the data roots (option
 * `dataDir`, else `$AGD_DATA`, else `~/.cache/agd`, then `/usr/share/datasets`),
 * downloading MNIST/Fashion-MNIST/CIFAR on first use unless `download: false`.
 * MNIST and CIFAR are held in memory as uint8; ImageNet is read lazily and
 * decoded in Web Workers.
 *
 * @example
 * ```ts ignore
 * import { createLoader, openDataset } from "@agd/datasets";
 * const train = await openDataset("cifar10", { split: "train" });
 * for await (const batch of createLoader(train, { batchSize: 128, shuffle: true, seed: 1 })) {
 *   // batch.images: Float32Array of batch.size×3×32×32
 * }
 * ```
 *
 * @param name The dataset.
 * @param options Split, data location, download and transform options.
 * @returns The opened dataset; call `close()` when done (needed for ImageNet workers).
 */
export async function openDataset(
  name: DatasetName,
  options: OpenDatasetOptions = {},
): Promise<Dataset> {
  const info = datasetInfo(name);
  const split = options.split ?? "train";
  if (name === "imagenet") {
    const dir = options.imagenetPath ?? await findDatasetDir("imagenet", options);
    if (!dir) {
      throw new Error(
        `Cannot find ImageNet under ${
          dataRoots(options).map((r) => r + "/imagenet").join(" or ")
        }: put ${expectedFiles(name)} there, or set IMAGENET_PATH or the imagenetPath option.`,
      );
    }
    return await openImageNet(`${dir}/${split === "train" ? "train" : "val"}`, {
      ...options,
      split,
    });
  }
  let dir = await findDatasetDir(name, options);
  if (!dir) {
    const root = dataRoot(options);
    if (options.download === false) {
      throw new Error(
        `Cannot find ${name} under ${dataRoots(options).join(" or ")}: put ${
          expectedFiles(name)
        } in ${root}/${datasetSubdir(name)}/, or allow download.`,
      );
    }
    dir = await downloadDataset(name, root, options.downloadOptions);
  }
  const data = name === "mnist" || name === "fashion-mnist"
    ? await loadMnist(dir, { split })
    : await loadCifar(dir, { variant: name, split, labels: options.labels });
  if (name === "cifar100" && options.labels === "coarse") info.classes = 20;
  if (split === "train") info.trainSize = data.count;
  else info.testSize = data.count;
  return new ArrayDataset(data, { ...options, info, split });
}
