/**
 * The part of `@agd/datasets` that needs no file system, for web pages and
 * bundlers: dataset metadata, the seeded RNG, the torchvision-exact
 * transforms, the IDX and CIFAR parsers, {@linkcode ArrayDataset} and the
 * batch loader. Nothing it loads reads files, imports `node:` modules or
 * native code; `@agd/datasets` adds finding, downloading and reading files,
 * JPEG decoding and ImageNet.
 *
 * @example
 * ```ts
 * import { ArrayDataset, createLoader, datasetInfo } from "@agd/datasets/memory";
 * const images = new Uint8Array(4 * 28 * 28).fill(128); // or bytes a page fetched
 * const dataset = new ArrayDataset(
 *   { images, labels: Uint8Array.of(0, 1, 2, 3), count: 4 },
 *   { info: datasetInfo("mnist"), split: "train" },
 * );
 * for await (const batch of createLoader(dataset, { batchSize: 2 })) {
 *   console.log(batch.size, batch.images.length); // 2 1568
 * }
 * ```
 *
 * @module
 */
export * from "./info.ts";
export * from "./rng.ts";
export * from "./transforms.ts";
export { type IdxArray, type IdxOptions, parseIdx } from "./idx.ts";
export { type ArrayData, mnistFiles } from "./mnist.ts";
export { cifarFiles, type CifarOptions, parseCifar } from "./cifar.ts";
export * from "./array_dataset.ts";
export * from "./loader.ts";
