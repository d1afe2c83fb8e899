/**
 * Matrix products.
 *
 * @module
 */
import type { Tensor } from "../../tensor.ts";
import { apply } from "../_apply.ts";

/** Transposes applied in place (no copies). */
export interface MatmulOptions {
  /** Use aᵀ: `a` is stored as [K, M]. */
  transA?: boolean;
  /** Use bᵀ: `b` is stored as [N, K]. */
  transB?: boolean;
}

/**
 * op(a) · op(b) for 2-D tensors.
 *
 * @example
 * ```ts
 * import { matmul, tensor } from "@agd/tensor";
 * const a = tensor([1, 2, 3, 4], { shape: [2, 2] });
 * console.log(await matmul(a, a, { transB: true }).data()); // Float32Array [5, 11, 11, 25]
 * ```
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  return apply("matmul", [a, b], {
    transA: options.transA ?? false,
    transB: options.transB ?? false,
  });
}

/** x · Wᵀ with W stored as PyTorch's Linear weight [out, in]. */
export function linear(x: Tensor, weight: Tensor): Tensor {
  return matmul(x, weight, { transB: true });
}
