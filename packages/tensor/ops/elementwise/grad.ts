/**
 * Gradient rules of the elementwise primitives.
 *
 * @module
 */
import { type GradRule, notDifferentiable, unbroadcast } from "../../autograd/vjp.ts";
import type { Tensor } from "../../tensor.ts";
import { apply } from "../_apply.ts";
import type { ElementwiseAttrs } from "./primitives.ts";

const mul = (a: Tensor, b: Tensor) => apply("mul", [a, b], {});
const div = (a: Tensor, b: Tensor) => apply("div", [a, b], {});
const neg = (a: Tensor) => apply("neg", [a], {});

/** The vector-Jacobian product of each elementwise primitive. */
export const ELEMENTWISE_GRADS: { [P in keyof ElementwiseAttrs]: GradRule<P> } = {
  neg: (dy) => [neg(dy)],
  exp: (dy, { out }) => [mul(dy, out)],
  log: (dy, { inputs: [x] }) => [div(dy, x)],
  sqrt: (dy, { out }) => [div(dy, apply("affine", [out], { mul: 2, add: 0 }))],
  relu: (dy, { inputs: [x] }) => [apply("relu_grad", [dy, x], { scale: 1 })],
  scaled_relu: (dy, { inputs: [x], attrs }) => [
    apply("relu_grad", [dy, x], { scale: attrs.scale }),
  ],
  relu_grad: notDifferentiable("a backward kernel"),
  nan_to_num: (dy) => [dy],
  affine: (dy, { attrs }) => [apply("affine", [dy], { mul: attrs.mul, add: 0 })],
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
  eq: notDifferentiable("a comparison, piecewise constant"),
};
