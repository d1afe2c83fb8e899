/**
 * Gradient rule of matmul.
 *
 * @module
 */
import type { GradRule } from "../../autograd/vjp.ts";
import type { MatmulAttrs } from "./primitives.ts";

/** The vector-Jacobian product of matmul. */
export const MATMUL_GRADS: { [P in keyof MatmulAttrs]: GradRule<P> } = {
  // With C = op(A)·op(B): ∂op(A) = dy·op(B)ᵀ and ∂op(B) = op(A)ᵀ·dy, then transposed
  // back to A's and B's storage layouts — all through matmul flags, never copies.
  matmul: (dy, { inputs: [a, b], attrs: { transA, transB }, needs, apply }) => [
    !needs[0]
      ? null
      : transA
      ? apply("matmul", [b, dy], { transA: transB, transB: true })
      : apply("matmul", [dy, b], { transA: false, transB: !transB }),
    !needs[1]
      ? null
      : transB
      ? apply("matmul", [dy, a], { transA: true, transB: transA })
      : apply("matmul", [a, dy], { transA: !transA, transB: false }),
  ],
};
