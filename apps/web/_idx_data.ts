/**
 * The training page's data: the four IDX files the user picked or the server
 * offers (gzipped or not) turned into the train and test splits, and the
 * `--train-limit`/`--test-limit` cut of a split.
 *
 * Nothing here touches the DOM nor the file system: the page hands in bytes.
 *
 * @module
 */
import { ArrayDataset, datasetInfo, mnistFiles, parseIdx } from "@agd/datasets/memory";

/** The datasets the page trains on: MNIST-format IDX files, 1×28×28, 10 classes. */
export type IdxDatasetName = "fashion-mnist" | "mnist";

/** The train and test splits, in memory. */
export interface IdxData {
  /** Which dataset's metadata (normalisation, labels) applies. */
  name: IdxDatasetName;
  /** The training split. */
  train: ArrayDataset;
  /** The test split. */
  test: ArrayDataset;
}

/** The four file names of a MNIST-format dataset (what `mnistFiles` gives, gzipped). */
export const IDX_FILES: readonly string[] = [mnistFiles("train"), mnistFiles("test")]
  .flatMap((f) => [f.images, f.labels]).map((f) => `${f}.gz`);

/** Whether bytes start with the gzip magic 1f 8b. */
function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Gunzips `bytes` with the web's DecompressionStream when they are gzipped,
 * else returns them unchanged.
 *
 * @param bytes a file's contents
 * @param name the file, for the error message
 * @returns the uncompressed bytes
 */
export async function maybeGunzip(bytes: Uint8Array, name: string): Promise<Uint8Array> {
  if (!isGzip(bytes)) return bytes;
  try {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
      .pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new Error(`Cannot gunzip ${name}: ${(e as Error).message}; pick an intact copy`);
  }
}

/**
 * Builds the train and test splits from the four IDX files (gzipped or
 * not), named as in the dataset's release (`train-images-idx3-ubyte[.gz]`, …).
 *
 * @param files the files' names and contents (any order; other files are ignored)
 * @param name the dataset whose normalisation and labels apply (default fashion-mnist)
 * @returns the splits, as `openDataset` would hold them
 */
export async function idxData(
  files: readonly { name: string; bytes: Uint8Array }[],
  name: IdxDatasetName = "fashion-mnist",
): Promise<IdxData> {
  const find = (base: string) => {
    const f = files.find((f) => f.name === base || f.name === `${base}.gz`);
    if (!f) {
      throw new Error(
        `Cannot build ${name}: ${base}(.gz) is missing among ${
          files.map((f) => f.name).join(", ") || "no files"
        }; pick all four IDX files`,
      );
    }
    return f;
  };
  const split = async (which: "train" | "test") => {
    const names = mnistFiles(which);
    const [images, labels] = await Promise.all(
      [[names.images, "images"], [names.labels, "labels"]].map(async ([base, expect]) => {
        const f = find(base);
        return parseIdx(await maybeGunzip(f.bytes, f.name), {
          name: f.name,
          expect: expect as "images" | "labels",
        });
      }),
    );
    const info = datasetInfo(name);
    const [count, h, w] = images.dims;
    if (images.dims.length !== 3 || h !== info.height || w !== info.width) {
      throw new Error(
        `Cannot build ${name}: ${names.images} holds ${
          images.dims.join("×")
        } images, expected N×${info.height}×${info.width}`,
      );
    }
    if (labels.dims[0] !== count) {
      throw new Error(
        `Cannot build ${name}: ${names.labels} has ${
          labels.dims[0]
        } labels for ${count} images; use files of the same release`,
      );
    }
    if (which === "train") info.trainSize = count;
    else info.testSize = count;
    return new ArrayDataset(
      { images: images.data, labels: labels.data, count },
      { info, split: which },
    );
  };
  const [train, test] = await Promise.all([split("train"), split("test")]);
  return { name, train, test };
}

/**
 * The first `limit` samples of a dataset, as apps/cli's `--train-limit` cuts it.
 *
 * @param ds a split
 * @param limit how many samples to keep (none: all)
 * @returns `ds` itself when nothing is cut, else a view of its first samples
 */
export function firstSamples(ds: ArrayDataset, limit: number | undefined): ArrayDataset {
  if (!limit || limit >= ds.length) return ds;
  const plane = ds.info.channels * ds.info.height * ds.info.width;
  return new ArrayDataset({
    images: ds.data.images.subarray(0, limit * plane),
    labels: ds.data.labels.subarray(0, limit),
    count: limit,
  }, { info: ds.info, split: ds.split });
}
