/**
 * Gradient rules of the reductions.
 *
 * @module
 */
import { type GradRule, notDifferentiable } from "../../autograd/vjp.ts";
import type { ReduceAttrs } from "./primitives.ts";

/** The vector-Jacobian product of each reduction. */
export const REDUCE_GRADS: { [P in keyof ReduceAttrs]: GradRule<P> } = {
  sum: (dy, { inputs: [x], apply }) => [apply("expand", [dy], { shape: [...x.shape] })],
  // Ties share the gradient in full (each tied max gets dy), as the mask selects them all.
  max: (dy, { inputs: [x], out, apply }) => [
    apply("mul", [apply("expand", [dy], { shape: [...x.shape] }), apply("eq", [x, out], {})], {}),
  ],
  argmax: notDifferentiable("an integer op"),
};
