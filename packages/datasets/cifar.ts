/**
 * CIFAR-10 and CIFAR-100 loading from the official binary releases.
 *
 * @module
 */

import { denoFs } from "./_deno.ts";
import type { ArrayData } from "./mnist.ts";
import type { Split } from "./info.ts";

/** Options for {@linkcode loadCifar}. */
export interface CifarOptions {
  /** "cifar10" (`cifar-10-batches-bin/`) or "cifar100" (`cifar-100-binary/`); default "cifar10". */
  variant?: "cifar10" | "cifar100";
  /** Which split to read (default "train"). */
  split?: Split;
  /** CIFAR-100 labels: "fine" (100 classes, default) or "coarse" (20 superclasses). */
  labels?: "fine" | "coarse";
}

const PIXELS = 3072;

/** The binary file names of a CIFAR split. */
export function cifarFiles(variant: "cifar10" | "cifar100", split: Split): string[] {
  if (variant === "cifar100") return [split === "train" ? "train.bin" : "test.bin"];
  return split === "train" ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : ["test_batch.bin"];
}

/**
 * Parses CIFAR binary records (`[label] + 3072` bytes for CIFAR-10,
 * `[coarse, fine] + 3072` for CIFAR-100; pixels are already CHW).
 *
 * @param bytes The file contents.
 * @param options Variant and label kind; `name` names the file in errors.
 * @returns Images (N×3×32×32) and labels.
 */
export function parseCifar(
  bytes: Uint8Array,
  options: CifarOptions & { name?: string } = {},
): ArrayData {
  const variant = options.variant ?? "cifar10";
  const head = variant === "cifar100" ? 2 : 1;
  const record = head + PIXELS;
  const name = options.name ?? "CIFAR data";
  if (bytes.length === 0 || bytes.length % record !== 0) {
    throw new Error(
      `Cannot read ${name}: size ${bytes.length} is not a multiple of the ${record}-byte ${variant} record; delete it and extract the archive again.`,
    );
  }
  const count = bytes.length / record;
  const images = new Uint8Array(count * PIXELS);
  const labels = new Uint8Array(count);
  const labelAt = variant === "cifar100" && options.labels !== "coarse" ? 1 : 0;
  const max = variant === "cifar100" ? (labelAt === 1 ? 100 : 20) : 10;
  for (let i = 0; i < count; i++) {
    const o = i * record;
    const label = bytes[o + labelAt];
    if (label >= max) {
      throw new Error(
        `Cannot read ${name}: record ${i} has label ${label}, expected below ${max}; check that it is a ${variant} binary file.`,
      );
    }
    labels[i] = label;
    images.set(bytes.subarray(o + head, o + record), i * PIXELS);
  }
  return { images, labels, count };
}

/**
 * Loads a CIFAR split from the folder of the official binary release.
 *
 * @param dir `cifar-10-batches-bin/` or `cifar-100-binary/`.
 * @param options Variant, split and label kind.
 * @returns Images (N×3×32×32 uint8) and labels.
 */
export async function loadCifar(dir: string, options: CifarOptions = {}): Promise<ArrayData> {
  const variant = options.variant ?? "cifar10";
  const deno = denoFs(`read CIFAR from ${dir}`, "fetch the .bin files and use parseCifar");
  const parts: ArrayData[] = [];
  for (const f of cifarFiles(variant, options.split ?? "train")) {
    const path = `${dir}/${f}`;
    let bytes: Uint8Array;
    try {
      bytes = await deno.readFile(path);
    } catch (e) {
      throw new Error(
        `Cannot read ${path}: ${
          (e as Error).message
        }; put the ${variant} binary release there or enable download.`,
      );
    }
    parts.push(parseCifar(bytes, { ...options, variant, name: path }));
  }
  if (parts.length === 1) return parts[0];
  const count = parts.reduce((a, p) => a + p.count, 0);
  const images = new Uint8Array(count * PIXELS);
  const labels = new Uint8Array(count);
  let n = 0;
  for (const p of parts) {
    images.set(p.images, n * PIXELS);
    labels.set(p.labels, n);
    n += p.count;
  }
  return { images, labels, count };
}
