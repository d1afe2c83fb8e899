/**
 * Every primitive op's definition, assembled once from the op families'
 * tables (`ops/<family>/definitions.ts`): what `apply` validates shapes with,
 * what each backend runs, and what `backward` differentiates with. Typed
 * exhaustively over {@link OpName}, so a family that leaves an op or a part
 * out is a type error.
 *
 * @module
 */
import type { GradRule } from "../autograd/vjp.ts";
import type { GradOpName, OpAttrs, OpName } from "./op_name.ts";
import type { OpDefinition } from "./op_def.ts";
import type { Shape } from "../shape.ts";
import { type VariantSet, variantSet } from "../backend/webgpu/autotune.ts";
import { CONV_DEFINITIONS } from "./conv/definitions.ts";
import { ELEMENTWISE_DEFINITIONS } from "./elementwise/definitions.ts";
import { LOSS_DEFINITIONS } from "./loss/definitions.ts";
import { MATMUL_DEFINITIONS } from "./matmul/definitions.ts";
import { MISC_DEFINITIONS } from "./misc/definitions.ts";
import { NORM_DEFINITIONS } from "./norm/definitions.ts";
import { OPTIM_DEFINITIONS } from "./optim/definitions.ts";
import { POOL_DEFINITIONS } from "./pool/definitions.ts";
import { REDUCE_DEFINITIONS } from "./reduce/definitions.ts";
import { VIEW_GRADS } from "./misc/grad.ts";
import { CONV_VARIANTS } from "./conv/gpu.ts";
import { MATMUL_VARIANTS } from "./matmul/gpu.ts";

/**
 * The definition of every primitive op, by name.
 *
 * @example
 * ```ts
 * import { OPS } from "@agd/tensor";
 * const spec = OPS.matmul.shape([[2, 3], [3, 4]], ["float32", "float32"], {
 *   transA: false,
 *   transB: false,
 * });
 * console.log(spec.shape); // [2, 4]
 * ```
 */
export const OPS: { readonly [P in OpName]: OpDefinition<P> } = {
  ...ELEMENTWISE_DEFINITIONS,
  ...REDUCE_DEFINITIONS,
  ...MISC_DEFINITIONS,
  ...LOSS_DEFINITIONS,
  ...MATMUL_DEFINITIONS,
  ...CONV_DEFINITIONS,
  ...POOL_DEFINITIONS,
  ...NORM_DEFINITIONS,
  ...OPTIM_DEFINITIONS,
};

/**
 * Every op name, in a fixed order (family by family, for tests that must
 * cover them all).
 */
export const OP_NAMES: readonly OpName[] = Object.freeze(Object.keys(OPS) as OpName[]);

/** The definition of op `op` (typed for generic code over {@link OpName}). */
export function opDefinition<P extends OpName>(op: P): OpDefinition<P> {
  return OPS[op] as OpDefinition<P>;
}

/** The gradient rule of every op autograd records: each primitive's, and each view op's. */
export const VJP_RULES: { readonly [P in GradOpName]: GradRule<P> } = {
  ...Object.fromEntries(OP_NAMES.map((op) => [op, OPS[op].grad])) as {
    [P in OpName]: GradRule<P>;
  },
  ...VIEW_GRADS,
};

export { CONV_VARIANTS, MATMUL_VARIANTS };
export type { VariantSet };

/**
 * The ops whose WebGPU kernel has variants, measured once per adapter when a
 * backend is created (`createWebGpuBackend`, `webgpu()` pass these). The
 * probe is large enough to be compute-bound on a fast GPU and still quick on
 * a software one.
 */
export const KERNEL_VARIANTS: readonly VariantSet[] = [
  probe(OPS.matmul, MATMUL_VARIANTS, [[512, 512], [512, 512]], { transA: false, transB: false }),
  // The choice applies to conv2d_grad_input and conv2d_grad_weight too.
  probe(OPS.conv2d, CONV_VARIANTS, [[8, 32, 16, 16], [32, 32, 3, 3]], {
    stride: [1, 1],
    padding: [1, 1],
  }),
];

/** The variant set of `op`'s kernels `variants`, measured on random inputs of `shapes`. */
function probe<P extends OpName>(
  op: OpDefinition<P>,
  variants: Readonly<Record<string, unknown>>,
  shapes: Shape[],
  attrs: OpAttrs[P],
): VariantSet {
  const out = op.shape(shapes, shapes.map(() => "float32"), attrs);
  return variantSet(op, { variants: Object.keys(variants), shapes, attrs, out });
}
