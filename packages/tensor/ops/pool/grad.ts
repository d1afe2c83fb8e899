/**
 * Gradient rules of the pooling primitives.
 *
 * @module
 */
import { type GradRule, notDifferentiable } from "../../autograd/vjp.ts";
import type { PoolOpAttrs } from "./primitives.ts";

/** The vector-Jacobian product of each pooling primitive. */
export const POOL_GRADS: { [P in keyof PoolOpAttrs]: GradRule<P> } = {
  max_pool2d: (dy, { inputs: [x], attrs, apply }) => [apply("max_pool2d_grad", [x, dy], attrs)],
  max_pool2d_grad: notDifferentiable("a backward kernel"),
  avg_pool2d: (dy, { inputs: [x], attrs, apply }) => [
    apply("avg_pool2d_grad", [dy], { ...attrs, inputHW: [x.shape[2], x.shape[3]] }),
  ],
  avg_pool2d_grad: notDifferentiable("a backward kernel"),
};
