/**
 * Dataset names and metadata (shape, classes, normalisation constants, sizes).
 *
 * @module
 */

/** Supported dataset names. */
export type DatasetName = "mnist" | "fashion-mnist" | "cifar10" | "cifar100" | "imagenet";

/** Dataset split; "test" is the validation set for ImageNet. */
export type Split = "train" | "test";

/** Metadata of a dataset. */
export interface DatasetInfo {
  /** Dataset name. */
  name: DatasetName;
  /** Channels of the output tensors. */
  channels: number;
  /** Height of the output tensors. */
  height: number;
  /** Width of the output tensors. */
  width: number;
  /** Number of classes. */
  classes: number;
  /** Per-channel mean used by Normalize. */
  mean: readonly number[];
  /** Per-channel standard deviation used by Normalize. */
  std: readonly number[];
  /** Number of training samples. */
  trainSize: number;
  /** Number of test (validation) samples. */
  testSize: number;
}

const INFO: Record<DatasetName, DatasetInfo> = {
  "mnist": {
    name: "mnist",
    channels: 1,
    height: 28,
    width: 28,
    classes: 10,
    mean: [0.1307],
    std: [0.3081],
    trainSize: 60000,
    testSize: 10000,
  },
  "fashion-mnist": {
    name: "fashion-mnist",
    channels: 1,
    height: 28,
    width: 28,
    classes: 10,
    mean: [0.2860],
    std: [0.3530],
    trainSize: 60000,
    testSize: 10000,
  },
  "cifar10": {
    name: "cifar10",
    channels: 3,
    height: 32,
    width: 32,
    classes: 10,
    mean: [0.4914, 0.4822, 0.4465],
    std: [0.2023, 0.1994, 0.2010],
    trainSize: 50000,
    testSize: 10000,
  },
  "cifar100": {
    name: "cifar100",
    channels: 3,
    height: 32,
    width: 32,
    classes: 100,
    mean: [0.5071, 0.4867, 0.4408],
    std: [0.2675, 0.2565, 0.2761],
    trainSize: 50000,
    testSize: 10000,
  },
  "imagenet": {
    name: "imagenet",
    channels: 3,
    height: 224,
    width: 224,
    classes: 1000,
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
    trainSize: 1281167,
    testSize: 50000,
  },
};

/** All dataset names. */
export const DATASET_NAMES: readonly DatasetName[] = Object.keys(INFO) as DatasetName[];

/**
 * Returns the standard metadata of a dataset (a copy).
 *
 * @param name The dataset name.
 * @returns Its shape, classes, mean/std and split sizes.
 */
export function datasetInfo(name: DatasetName): DatasetInfo {
  const info = INFO[name];
  if (!info) {
    throw new Error(
      `Unknown dataset "${name}": use one of ${DATASET_NAMES.join(", ")}.`,
    );
  }
  return { ...info };
}
