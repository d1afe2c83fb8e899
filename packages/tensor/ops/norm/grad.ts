/**
 * Gradient rules of the batch-norm primitives.
 *
 * @module
 */
import { type GradRule, notDifferentiable } from "../../autograd/vjp.ts";
import type { NormAttrs } from "./primitives.ts";

/** The vector-Jacobian product of each batch-norm primitive. */
export const NORM_GRADS: { [P in keyof NormAttrs]: GradRule<P> } = {
  // Only x gets a gradient: stats are bn_stats(x), and batch_norm_grad is the
  // whole gradient through them.
  bn_stats: notDifferentiable("computed under noGrad; batch_norm's rule covers it"),
  batch_norm: (dy, { inputs: [x, stats], attrs, apply }) => [
    apply("batch_norm_grad", [dy, x, stats], attrs),
    null,
  ],
  batch_norm_grad: notDifferentiable("a backward kernel"),
  bn_running: notDifferentiable("a running-statistics update"),
};
