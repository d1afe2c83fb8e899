/**
 * What defines a primitive op: its shape rule, CPU reference, gradient rule,
 * WebGPU kernel and wasm kernel. Each family (`ops/<family>/definitions.ts`)
 * exports one table of these, made by {@link defineOps} from its parts, and
 * `ops/registry.ts` assembles the families' tables once; every table is typed
 * exhaustively, so an op missing a part is a type error.
 *
 * @module
 */
import type { GradRule } from "../autograd/vjp.ts";
import type { OpKernels } from "../backend/backend.ts";
import type { CpuKernel } from "../backend/cpu/kernel.ts";
import type { GpuKernel } from "../backend/webgpu/context.ts";
import type { WasmEntry } from "../backend/wasm/kernel.ts";
import type { OpAttrs, OpName, ShapeRule } from "./op_name.ts";

/**
 * Everything that defines primitive op `P`: its kernel on each backend (what
 * `Backend.run` is handed), its shape rule and its gradient rule.
 */
export interface OpDefinition<P extends OpName> extends OpKernels<OpAttrs[P]> {
  /** The op's name. */
  readonly name: P;
  /** Output shape and dtype from the inputs', validating them. */
  readonly shape: ShapeRule<P>;
  /** The vector-Jacobian product, or the declaration that there is none. */
  readonly grad: GradRule<P>;
}

/** The definitions of ops `K`, by name. */
export type OpDefinitions<K extends OpName> = { readonly [P in K]: OpDefinition<P> };

/** A family's parts, each an exhaustive table over its ops `K`. */
export interface OpParts<K extends OpName> {
  /** Shape rules (`primitives.ts`). */
  shape: { readonly [P in K]: ShapeRule<P> };
  /** CPU references (`cpu.ts`). */
  cpu: { readonly [P in K]: CpuKernel<OpAttrs[P]> };
  /** Gradient rules (`grad.ts`). */
  grad: { readonly [P in K]: GradRule<P> };
  /** WGSL kernels (`gpu.ts`). */
  webgpu: { readonly [P in K]: GpuKernel<OpAttrs[P]> };
  /** wasm kernels or `"reference"` (`wasm.ts`). */
  wasm: { readonly [P in K]: WasmEntry<OpAttrs[P]> };
}

/**
 * A family's definitions table from its parts: one entry per op of the shape
 * table, each with its five parts.
 *
 * @param parts the family's tables
 * @returns the op definitions, by name
 * @example
 * ```ts ignore
 * export const POOL_DEFINITIONS = defineOps({
 *   shape: POOL_SHAPES, cpu: POOL_CPU, grad: POOL_GRADS, webgpu: POOL_GPU_KERNELS, wasm: POOL_WASM,
 * });
 * ```
 */
export function defineOps<K extends OpName>(parts: OpParts<K>): OpDefinitions<K> {
  const out = {} as Record<K, OpDefinition<K>>;
  for (const op of Object.keys(parts.shape) as K[]) {
    out[op] = {
      name: op,
      shape: parts.shape[op],
      cpu: parts.cpu[op],
      grad: parts.grad[op],
      webgpu: parts.webgpu[op],
      wasm: parts.wasm[op],
    } as OpDefinition<K>;
  }
  return out as unknown as OpDefinitions<K>;
}
