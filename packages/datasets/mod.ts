/**
 * Datasets for training: MNIST, Fashion-MNIST, CIFAR-10/100 and ImageNet
 * (ImageFolder or WebDataset shards), with torchvision-exact transforms, a
 * seeded RNG, download with MD5 verification, and a prefetching,
 * DistributedSampler-compatible batch loader.
 *
 * @example
 * ```ts ignore
 * import { createLoader, openDataset } from "@agd/datasets";
 *
 * const ds = await openDataset("fashion-mnist", { split: "train", dataDir: "/usr/share/datasets" });
 * const loader = createLoader(ds, { batchSize: 128, shuffle: true, seed: 42 });
 * for await (const { images, labels, size } of loader) {
 *   console.log(size, images.length, labels[0]);
 * }
 * ```
 *
 * @module
 */

export * from "./info.ts";
export * from "./paths.ts";
export * from "./rng.ts";
export * from "./transforms.ts";
export * from "./idx.ts";
export * from "./mnist.ts";
export * from "./cifar.ts";
export * from "./jpeg.ts";
export * from "./imagenet.ts";
export * from "./download.ts";
export * from "./dataset.ts";
export * from "./loader.ts";
