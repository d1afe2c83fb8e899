/**
 * MNIST and Fashion-MNIST loading from a folder with the four IDX files.
 *
 * @module
 */

import { denoFs } from "./_deno.ts";
import { readIdx } from "./idx.ts";
import type { Split } from "./info.ts";

/** uint8 images and labels of a dataset held in memory. */
export interface ArrayData {
  /** Images, N×C×H×W uint8. */
  images: Uint8Array;
  /** Labels, one per image. */
  labels: Uint8Array;
  /** Number of samples N. */
  count: number;
}

/** The IDX file names (without `.gz`) of a split. */
export function mnistFiles(split: Split): { images: string; labels: string } {
  const p = split === "train" ? "train" : "t10k";
  return { images: `${p}-images-idx3-ubyte`, labels: `${p}-labels-idx1-ubyte` };
}

async function findFile(dir: string, base: string): Promise<string> {
  const deno = denoFs(`read ${dir}/${base}`, "fetch the IDX files and use parseIdx");
  for (const name of [base, base + ".gz"]) {
    try {
      const st = await deno.stat(`${dir}/${name}`);
      if (st.isFile) return `${dir}/${name}`;
    } catch {
      // Try the next name.
    }
  }
  throw new Error(
    `Cannot find ${dir}/${base}(.gz): put the MNIST-format IDX file there or enable download.`,
  );
}

/** Options for {@linkcode loadMnist}. */
export interface MnistOptions {
  /** Which split to read (default "train"). */
  split?: Split;
}

/**
 * Loads a MNIST-format split (`train-*` or `t10k-*` IDX files, gzipped or
 * not) from a folder.
 *
 * @param dir Folder holding the IDX files.
 * @param options The split.
 * @returns The images (N×1×28×28) and labels.
 */
export async function loadMnist(dir: string, options: MnistOptions = {}): Promise<ArrayData> {
  const files = mnistFiles(options.split ?? "train");
  const imagesPath = await findFile(dir, files.images);
  const labelsPath = await findFile(dir, files.labels);
  const images = await readIdx(imagesPath, { expect: "images" });
  const labels = await readIdx(labelsPath, { expect: "labels" });
  if (images.dims.length !== 3) {
    throw new Error(
      `Cannot read ${imagesPath}: expected 3 IDX dimensions (N, rows, cols), got ${images.dims.length}; use a MNIST-format image file.`,
    );
  }
  const [n] = images.dims;
  if (labels.dims[0] !== n) {
    throw new Error(
      `Cannot read ${labelsPath}: it has ${
        labels.dims[0]
      } labels but ${imagesPath} has ${n} images; use files from the same release.`,
    );
  }
  return { images: images.data, labels: labels.data, count: n };
}
