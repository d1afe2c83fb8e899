/**
 * Gradient rules of the elementwise primitives.
 *
 * @module
 */
import { type ApplyOp, type GradRule, notDifferentiable, unbroadcast } from "../../autograd/vjp.ts";
import type { Tensor } from "../../tensor.ts";
import type { ElementwiseAttrs } from "./primitives.ts";

const mul = (apply: ApplyOp, a: Tensor, b: Tensor) => apply("mul", [a, b], {});
const div = (apply: ApplyOp, a: Tensor, b: Tensor) => apply("div", [a, b], {});
const neg = (apply: ApplyOp, a: Tensor) => apply("neg", [a], {});

/** The vector-Jacobian product of each elementwise primitive. */
export const ELEMENTWISE_GRADS: { [P in keyof ElementwiseAttrs]: GradRule<P> } = {
  neg: (dy, { apply }) => [neg(apply, dy)],
  exp: (dy, { out, apply }) => [mul(apply, dy, out)],
  log: (dy, { inputs: [x], apply }) => [div(apply, dy, x)],
  sqrt: (dy, { out, apply }) => [div(apply, dy, apply("affine", [out], { mul: 2, add: 0 }))],
  relu: (dy, { inputs: [x], apply }) => [apply("relu_grad", [dy, x], { scale: 1 })],
  scaled_relu: (dy, { inputs: [x], attrs, apply }) => [
    apply("relu_grad", [dy, x], { scale: attrs.scale }),
  ],
  relu_grad: notDifferentiable("a backward kernel"),
  nan_to_num: (dy) => [dy],
  affine: (dy, { attrs, apply }) => [apply("affine", [dy], { mul: attrs.mul, add: 0 })],
  add: (dy, { inputs: [a, b], apply }) => [
    unbroadcast(apply, dy, a.shape),
    unbroadcast(apply, dy, b.shape),
  ],
  sub: (dy, { inputs: [a, b], apply }) => [
    unbroadcast(apply, dy, a.shape),
    unbroadcast(apply, neg(apply, dy), b.shape),
  ],
  mul: (dy, { inputs: [a, b], needs, apply }) => [
    needs[0] ? unbroadcast(apply, mul(apply, dy, b), a.shape) : null,
    needs[1] ? unbroadcast(apply, mul(apply, dy, a), b.shape) : null,
  ],
  // d(a/b)/db = −a/b² = −out/b
  div: (dy, { inputs: [a, b], out, needs, apply }) => [
    needs[0] ? unbroadcast(apply, div(apply, dy, b), a.shape) : null,
    needs[1] ? unbroadcast(apply, neg(apply, div(apply, mul(apply, dy, out), b)), b.shape) : null,
  ],
  eq: notDifferentiable("a comparison, piecewise constant"),
};
