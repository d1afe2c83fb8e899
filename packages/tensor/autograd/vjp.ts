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
  /**
   * Which inputs need a gradient (`requiresGrad`). Rules of costly ops skip
   * the others: a network's input image needs no conv2d_grad_input.
   */
  needs: readonly boolean[];
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
  relu: (dy, { inputs: [x] }) => [op("relu_grad", [dy, x], { scale: 1 })],
  scaled_relu: (dy, { inputs: [x], attrs }) => [op("relu_grad", [dy, x], { scale: attrs.scale })],
  relu_grad: null,
  nan_to_num: (dy) => [dy],
  affine: (dy, { attrs }) => [op("affine", [dy], { mul: attrs.mul, add: 0 })],
  add: (dy, { inputs: [a, b] }) => [unbroadcast(dy, a.shape), unbroadcast(dy, b.shape)],
  sub: (dy, { inputs: [a, b] }) => [unbroadcast(dy, a.shape), unbroadcast(neg(dy), b.shape)],
  mul: (dy, { inputs: [a, b], needs }) => [
    needs[0] ? unbroadcast(mul(dy, b), a.shape) : null,
    needs[1] ? unbroadcast(mul(dy, a), b.shape) : null,
  ],
  // d(a/b)/db = −a/b² = −out/b
  div: (dy, { inputs: [a, b], out, needs }) => [
    needs[0] ? unbroadcast(div(dy, b), a.shape) : null,
    needs[1] ? unbroadcast(neg(div(mul(dy, out), b)), b.shape) : null,
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
  mse_loss: (dy, { inputs: [x, labels], attrs }) => [
    op("mse_loss_grad", [dy, x, labels], attrs),
    null,
  ],
  mse_loss_grad: null,
  // With C = op(A)·op(B): ∂op(A) = dy·op(B)ᵀ and ∂op(B) = op(A)ᵀ·dy, then transposed
  // back to A's and B's storage layouts — all through matmul flags, never copies.
  matmul: (dy, { inputs: [a, b], attrs: { transA, transB }, needs }) => [
    !needs[0]
      ? null
      : transA
      ? op("matmul", [b, dy], { transA: transB, transB: true })
      : op("matmul", [dy, b], { transA: false, transB: !transB }),
    !needs[1]
      ? null
      : transB
      ? op("matmul", [dy, a], { transA: true, transB: transA })
      : op("matmul", [a, dy], { transA: !transA, transB: false }),
  ],
  conv2d: (dy, { inputs: [x, w], attrs, needs }) => [
    needs[0]
      ? op("conv2d_grad_input", [dy, w], { ...attrs, inputHW: [x.shape[2], x.shape[3]] })
      : null,
    needs[1]
      ? op("conv2d_grad_weight", [x, dy], { ...attrs, kernel: [w.shape[2], w.shape[3]] })
      : null,
  ],
  conv2d_grad_input: null,
  conv2d_grad_weight: null,
  max_pool2d: (dy, { inputs: [x], attrs }) => [op("max_pool2d_grad", [x, dy], attrs)],
  max_pool2d_grad: null,
  avg_pool2d: (dy, { inputs: [x], attrs }) => [
    op("avg_pool2d_grad", [dy], { ...attrs, inputHW: [x.shape[2], x.shape[3]] }),
  ],
  avg_pool2d_grad: null,
  // Only x gets a gradient: stats are bn_stats(x), and batch_norm_grad is the
  // whole gradient through them.
  bn_stats: null,
  batch_norm: (dy, { inputs: [x, stats], attrs }) => [
    op("batch_norm_grad", [dy, x, stats], attrs),
    null,
  ],
  batch_norm_grad: null,
  bn_running: null,
  // The optimizer's fused ops run under noGrad: nothing differentiates through them.
  agd_terms: null,
  agd_eta: null,
  agd_update: null,
};
