/**
 * Gradient rules: one vector-Jacobian product per primitive, written with the
 * public ops so they run on any backend. `null` marks ops that are not
 * differentiated (backward kernels and integer ops); reaching one is an error.
 *
 * @module
 */
import type { OpAttrs, OpName } from "../op_name.ts";
import type { Shape } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { apply } from "../ops/_apply.ts";

/** What a gradient rule sees of the forward call. */
export interface VjpContext<P extends OpName> {
  /** The op's inputs. */
  inputs: readonly Tensor[];
  /** The op's output. */
  out: Tensor;
  /** The op's attributes. */
  attrs: OpAttrs[P];
}

/** ∂L/∂out → ∂L/∂input for each input (null: no gradient flows). */
export type VjpRule<P extends OpName> = (dy: Tensor, ctx: VjpContext<P>) => (Tensor | null)[];

const op = <P extends OpName>(name: P, inputs: Tensor[], attrs: OpAttrs[P]): Tensor =>
  apply(name, inputs, attrs);
const mul = (a: Tensor, b: Tensor) => op("mul", [a, b], {});
const div = (a: Tensor, b: Tensor) => op("div", [a, b], {});
const neg = (a: Tensor) => op("neg", [a], {});

/** Sums a broadcast gradient back down to `shape`. */
export function unbroadcast(g: Tensor, shape: Shape): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const offset = g.shape.length - shape.length;
  const axes = g.shape.map((_, i) => i).filter((i) =>
    i < offset || (shape[i - offset] === 1 && g.shape[i] !== 1)
  );
  return op("sum", [g], { axes }).reshape(shape);
}

const none = (): null[] => [null, null];

/** The gradient rule of every primitive. */
export const VJP_RULES: { [P in OpName]: VjpRule<P> | null } = {
  neg: (dy) => [neg(dy)],
  exp: (dy, { out }) => [mul(dy, out)],
  log: (dy, { inputs: [x] }) => [div(dy, x)],
  sqrt: (dy, { out }) => [div(dy, op("affine", [out], { mul: 2, add: 0 }))],
  relu: (dy, { inputs: [x] }) => [mul(dy, op("step", [x], {}))],
  step: none,
  nan_to_num: (dy) => [dy],
  affine: (dy, { attrs }) => [op("affine", [dy], { mul: attrs.mul, add: 0 })],
  add: (dy, { inputs: [a, b] }) => [unbroadcast(dy, a.shape), unbroadcast(dy, b.shape)],
  sub: (dy, { inputs: [a, b] }) => [unbroadcast(dy, a.shape), unbroadcast(neg(dy), b.shape)],
  mul: (
    dy,
    { inputs: [a, b] },
  ) => [unbroadcast(mul(dy, b), a.shape), unbroadcast(mul(dy, a), b.shape)],
  // d(a/b)/db = −a/b² = −out/b
  div: (dy, { inputs: [a, b], out }) => [
    unbroadcast(div(dy, b), a.shape),
    unbroadcast(neg(div(mul(dy, out), b)), b.shape),
  ],
  eq: none,
  sum: (dy, { inputs: [x] }) => [op("expand", [dy], { shape: [...x.shape] })],
  // Ties share the gradient in full (each tied max gets dy), as the mask selects them all.
  max: (
    dy,
    { inputs: [x], out },
  ) => [mul(op("expand", [dy], { shape: [...x.shape] }), op("eq", [x, out], {}))],
  argmax: none,
  expand: (dy, { inputs: [x] }) => [unbroadcast(dy, x.shape)],
  one_hot: none,
  // With C = op(A)·op(B): ∂op(A) = dy·op(B)ᵀ and ∂op(B) = op(A)ᵀ·dy, then transposed
  // back to A's and B's storage layouts — all through matmul flags, never copies.
  matmul: (dy, { inputs: [a, b], attrs: { transA, transB } }) => [
    transA
      ? op("matmul", [b, dy], { transA: transB, transB: true })
      : op("matmul", [dy, b], { transA: false, transB: !transB }),
    transB
      ? op("matmul", [dy, a], { transA: true, transB: transA })
      : op("matmul", [a, dy], { transA: !transA, transB: false }),
  ],
  conv2d: (dy, { inputs: [x, w], attrs }) => [
    op("conv2d_grad_input", [dy, w], { ...attrs, inputHW: [x.shape[2], x.shape[3]] }),
    op("conv2d_grad_weight", [x, dy], { ...attrs, kernel: [w.shape[2], w.shape[3]] }),
  ],
  conv2d_grad_input: null,
  conv2d_grad_weight: null,
  max_pool2d: (dy, { inputs: [x], attrs }) => [op("max_pool2d_grad", [x, dy], attrs)],
  max_pool2d_grad: null,
  avg_pool2d: (dy, { inputs: [x], attrs }) => [
    op("avg_pool2d_grad", [dy], { ...attrs, inputHW: [x.shape[2], x.shape[3]] }),
  ],
  avg_pool2d_grad: null,
};
