/**
 * The WGSL kernel of every primitive op, assembled from the op families:
 * each `ops/<family>/gpu.ts` holds its ops' kernels beside the family's
 * `.wgsl` (which names its bindings in a header comment), its uniform blocks
 * and kernel modes declared once (`uniforms.ts`). An entry turns an op call
 * into one or a few dispatches; shaders are specialised with `override`
 * constants (op selectors, transposes, modes, by name) and read shapes and
 * strides from a uniform block, so the source text is fixed and each
 * pipeline is compiled once per process.
 *
 * Variants: where more than one implementation of an op makes sense, the table
 * entry is a small selector that asks `GpuContext.variant` which one the
 * runtime measured fastest on this adapter ({@link KERNEL_VARIANTS} lists
 * them with their measuring call): matmul's tiled and texture GEMMs
 * (ops/matmul/gpu.ts), and the same two for the three convs (ops/conv/gpu.ts).
 *
 * @module
 */
import type { OpAttrs, OpName } from "../../op_name.ts";
import type { Shape } from "../../shape.ts";
import type { GpuKernelTable } from "./context.ts";
import { CONV_GPU_KERNELS, CONV_VARIANTS } from "../../ops/conv/gpu.ts";
import { ELEMENTWISE_GPU_KERNELS } from "../../ops/elementwise/gpu.ts";
import { LOSS_GPU_KERNELS } from "../../ops/loss/gpu.ts";
import { MATMUL_GPU_KERNELS, MATMUL_VARIANTS } from "../../ops/matmul/gpu.ts";
import { MISC_GPU_KERNELS } from "../../ops/misc/gpu.ts";
import { NORM_GPU_KERNELS } from "../../ops/norm/gpu.ts";
import { OPTIM_GPU_KERNELS } from "../../ops/optim/gpu.ts";
import { POOL_GPU_KERNELS } from "../../ops/pool/gpu.ts";
import { REDUCE_GPU_KERNELS } from "../../ops/reduce/gpu.ts";

export { CONV_VARIANTS, MATMUL_VARIANTS };

/** A kernel with several implementations, and the call that measures them. */
export interface VariantSet {
  /** The op. */
  op: OpName;
  /** Variant names; the first is the default. */
  variants: readonly string[];
  /** Input shapes of the measuring call (random float32 data). */
  shapes: Shape[];
  /** Attributes of the measuring call. */
  attrs: OpAttrs[OpName];
}

/**
 * The ops with variants, measured once per adapter when a backend is created.
 * The probe is large enough to be compute-bound on a fast GPU and still quick
 * on a software one.
 */
export const KERNEL_VARIANTS: readonly VariantSet[] = [
  {
    op: "matmul",
    variants: Object.keys(MATMUL_VARIANTS),
    shapes: [[512, 512], [512, 512]],
    attrs: { transA: false, transB: false },
  },
  {
    // The choice applies to conv2d_grad_input and conv2d_grad_weight too.
    op: "conv2d",
    variants: Object.keys(CONV_VARIANTS),
    shapes: [[8, 32, 16, 16], [32, 32, 3, 3]],
    attrs: { stride: [1, 1], padding: [1, 1] },
  },
];

/**
 * One WGSL kernel per primitive op (exhaustive: a family that leaves an op
 * out is a type error). Each records its dispatches through a
 * {@link GpuContext}; the runtime batches, caches and submits them.
 *
 * @example
 * ```ts ignore
 * import { WEBGPU_KERNELS } from "./kernels.ts";
 * // Inside a backend's run(): the context records the dispatches.
 * WEBGPU_KERNELS.relu(ctx, [x], {}, out);
 * ```
 */
export const WEBGPU_KERNELS: GpuKernelTable = {
  ...ELEMENTWISE_GPU_KERNELS,
  ...REDUCE_GPU_KERNELS,
  ...MISC_GPU_KERNELS,
  ...LOSS_GPU_KERNELS,
  ...MATMUL_GPU_KERNELS,
  ...CONV_GPU_KERNELS,
  ...POOL_GPU_KERNELS,
  ...NORM_GPU_KERNELS,
  ...OPTIM_GPU_KERNELS,
};
