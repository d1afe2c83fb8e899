/**
 * Batched, shuffled, sharded, prefetching iteration over a dataset, with
 * PyTorch `DataLoader` + `DistributedSampler` semantics.
 *
 * @module
 */

import type { Batch, Dataset } from "./array_dataset.ts";
import { Random, seedFrom } from "./rng.ts";

/** Options for {@linkcode shardIndices}. */
export interface ShardOptions {
  /** Shuffle with `seed` and `epoch` (default false). */
  shuffle?: boolean;
  /** Base seed (default 0). */
  seed?: number;
  /** Epoch; changes the shuffle order (default 0). */
  epoch?: number;
  /** This process's rank in [0, worldSize) (default 0). */
  rank?: number;
  /** Number of processes (default 1). */
  worldSize?: number;
}

/**
 * The sample indices of one rank for one epoch, like torch's
 * `DistributedSampler(drop_last=False)`: a permutation seeded by (seed, epoch)
 * (or 0..n-1), padded by repeating its head to a multiple of `worldSize`,
 * then every `worldSize`-th index starting at `rank`.
 *
 * @param length Dataset size.
 * @param options Shuffle, seed, epoch, rank and world size.
 * @returns This rank's indices (`ceil(length / worldSize)` of them).
 */
export function shardIndices(length: number, options: ShardOptions = {}): Int32Array {
  const world = options.worldSize ?? 1;
  const rank = options.rank ?? 0;
  if (
    !Number.isInteger(world) || world < 1 || !Number.isInteger(rank) || rank < 0 || rank >= world
  ) {
    throw new RangeError(
      `Cannot shard with rank ${rank} and worldSize ${world}: worldSize must be a positive integer and 0 <= rank < worldSize.`,
    );
  }
  const all = options.shuffle
    ? new Random(seedFrom([options.seed ?? 0, options.epoch ?? 0])).permutation(length)
    : Int32Array.from({ length }, (_, i) => i);
  const per = Math.ceil(length / world);
  const out = new Int32Array(length === 0 ? 0 : per);
  for (let k = 0; k < out.length; k++) out[k] = all[(rank + k * world) % length];
  return out;
}

/** Statistics of a finished epoch. */
export interface EpochStats {
  /** The epoch number. */
  epoch: number;
  /** Batches yielded. */
  batches: number;
  /** Samples yielded. */
  samples: number;
  /** Samples skipped because they could not be read or decoded. */
  skipped: number;
  /** The first 100 skip messages (file and problem). */
  errors: string[];
}

/** Options for {@linkcode createLoader}. */
export interface LoaderOptions extends ShardOptions {
  /** Samples per batch (default 64). */
  batchSize?: number;
  /** Drop the last partial batch (default false, like PyTorch `drop_last`). */
  dropLast?: boolean;
  /** Batches loaded ahead of the consumer (default 3, or twice the dataset's `parallelism` when more); bounds memory use. */
  prefetch?: number;
  /** Called after each complete epoch, e.g. to report skipped images. */
  onEpochEnd?: (stats: EpochStats) => void;
}

/** An async iterable over one epoch of batches. */
export interface Loader extends AsyncIterable<Batch> {
  /** The dataset. */
  readonly dataset: Dataset;
  /** Batches per epoch for this rank. */
  readonly length: number;
  /** The epoch used by the next iteration; set it before each epoch to reshuffle. */
  epoch: number;
  /**
   * The batch the next iteration starts at (default 0), to resume mid-epoch:
   * the batches before it are neither read nor decoded. Like a restored
   * `StatefulDataLoader`, it applies once: the iteration resets it to 0.
   */
  start: number;
  /** Statistics of the last finished epoch, if any. */
  readonly lastEpoch: EpochStats | undefined;
}

/**
 * Creates a loader: each `for await` iterates one epoch of batches
 * `{ images, labels, size }` for this rank. The same seed and epoch always
 * give the same batches; up to `prefetch` batches are loaded ahead.
 *
 * @example
 * ```ts ignore
 * const loader = createLoader(dataset, { batchSize: 128, shuffle: true, seed: 0 });
 * for (let epoch = 0; epoch < 10; epoch++) {
 *   loader.epoch = epoch;
 *   for await (const { images, labels, size } of loader) {
 *     // train on `size` samples
 *   }
 * }
 * ```
 *
 * @param dataset The dataset to iterate.
 * @param options Batch size, shuffling, sharding, prefetch and callbacks.
 * @returns The loader.
 */
export function createLoader(dataset: Dataset, options: LoaderOptions = {}): Loader {
  const batchSize = options.batchSize ?? 64;
  const dropLast = options.dropLast ?? false;
  const prefetch = Math.max(1, options.prefetch ?? Math.max(3, 2 * (dataset.parallelism ?? 1)));
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(
      `Cannot create a loader with batchSize ${batchSize}: use a positive integer.`,
    );
  }
  const per = dataset.length === 0 ? 0 : Math.ceil(dataset.length / (options.worldSize ?? 1));
  const length = dropLast ? Math.floor(per / batchSize) : Math.ceil(per / batchSize);
  let lastEpoch: EpochStats | undefined;
  const loader: Loader = {
    dataset,
    length,
    epoch: options.epoch ?? 0,
    start: 0,
    get lastEpoch() {
      return lastEpoch;
    },
    async *[Symbol.asyncIterator](): AsyncGenerator<Batch> {
      const epoch = loader.epoch;
      const seed = options.seed ?? 0;
      const idx = shardIndices(dataset.length, { ...options, epoch });
      const queue: Promise<Awaited<ReturnType<Dataset["load"]>>>[] = [];
      let next = loader.start;
      if (!Number.isInteger(next) || next < 0 || next > length) {
        throw new RangeError(
          `Cannot start the epoch at batch ${next}: use an integer from 0 to ${length}.`,
        );
      }
      loader.start = 0;
      const fill = () => {
        while (queue.length < prefetch && next < length) {
          const b = idx.subarray(next * batchSize, Math.min((next + 1) * batchSize, idx.length));
          next++;
          const p = dataset.load(b, { seed, epoch });
          p.catch(() => {}); // Reported when awaited; avoids unhandled rejections on early exit.
          queue.push(p);
        }
      };
      const stats: EpochStats = { epoch, batches: 0, samples: 0, skipped: 0, errors: [] };
      fill();
      while (queue.length > 0) {
        const r = await queue.shift()!;
        fill();
        stats.skipped += r.skipped;
        for (const e of r.errors) if (stats.errors.length < 100) stats.errors.push(e);
        if (r.size === 0) continue;
        stats.batches++;
        stats.samples += r.size;
        yield { images: r.images, labels: r.labels, size: r.size };
      }
      lastEpoch = stats;
      options.onEpochEnd?.(stats);
    },
  };
  return loader;
}
