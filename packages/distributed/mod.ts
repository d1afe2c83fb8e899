/**
 * Data-parallel training across processes and machines on Open MPI: a Deno FFI
 * binding of libmpi ({@link Mpi}), per-rank GPU selection ({@link selectGpu})
 * and the gradient averaging of a training step ({@link DataParallel}).
 * Nothing here is loaded unless `--distribute` is given.
 *
 * @example
 * ```ts
 * import { planBuckets } from "@agd/distributed";
 * // ResNet-18-sized layers in 25 MiB buckets, last layer first:
 * console.log(planBuckets([9408, 2359296, 2359296, 5120], (25 * 2 ** 20) / 4).length); // 1
 * ```
 *
 * @module
 */
export { Mpi, type MpiBuffer, type MpiOptions } from "./mpi.ts";
export {
  driPrimeTag,
  type GpuSelection,
  type GpuSelectOptions,
  listPciGpus,
  type PciGpu,
  selectGpu,
} from "./gpu_select.ts";
export {
  type BucketPlan,
  DataParallel,
  type DataParallelOptions,
  GradientSync,
  planBuckets,
  type SyncHooks,
  type SyncTiming,
} from "./data_parallel.ts";
