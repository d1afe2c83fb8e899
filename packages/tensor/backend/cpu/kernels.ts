/**
 * The CPU reference kernels, assembled from the op families
 * (`ops/<family>/cpu.ts`): one plain loop per primitive op, written to be
 * obviously correct rather than fast. They define what every op means; the
 * WGSL kernels are validated against them and gradients are finite-differenced
 * against them. Sums accumulate in JS numbers (float64) and are stored once.
 *
 * @module
 */
import type { CpuKernelTable } from "./kernel.ts";
import { ELEMENTWISE_CPU } from "../../ops/elementwise/cpu.ts";
import { REDUCE_CPU } from "../../ops/reduce/cpu.ts";
import { MISC_CPU } from "../../ops/misc/cpu.ts";
import { LOSS_CPU } from "../../ops/loss/cpu.ts";
import { MATMUL_CPU } from "../../ops/matmul/cpu.ts";
import { CONV_CPU } from "../../ops/conv/cpu.ts";
import { POOL_CPU } from "../../ops/pool/cpu.ts";
import { NORM_CPU } from "../../ops/norm/cpu.ts";
import { OPTIM_CPU } from "../../ops/optim/cpu.ts";

/**
 * One CPU reference kernel per primitive op: the definition of each op's
 * meaning. Every kernel fills a zero-initialised output of the shape and dtype
 * {@link SHAPE_RULES} computed, and may assume its inputs passed those rules.
 *
 * @example
 * ```ts
 * import { CPU_KERNELS } from "./kernels.ts";
 * const out = { data: new Float32Array(2), shape: [2] };
 * CPU_KERNELS.add(
 *   [
 *     { data: new Float32Array([1, 2]), shape: [2], dtype: "float32" },
 *     { data: new Float32Array([10]), shape: [1], dtype: "float32" },
 *   ],
 *   {},
 *   out,
 * );
 * console.log(out.data); // Float32Array [11, 12]
 * ```
 */
export const CPU_KERNELS: CpuKernelTable = {
  ...ELEMENTWISE_CPU,
  ...REDUCE_CPU,
  ...MISC_CPU,
  ...LOSS_CPU,
  ...MATMUL_CPU,
  ...CONV_CPU,
  ...POOL_CPU,
  ...NORM_CPU,
  ...OPTIM_CPU,
};
