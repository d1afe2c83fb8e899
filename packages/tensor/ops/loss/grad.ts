/**
 * Gradient rules of the fused losses.
 *
 * @module
 */
import { type GradRule, notDifferentiable } from "../../autograd/vjp.ts";
import type { LossAttrs } from "./primitives.ts";

/** The vector-Jacobian product of each loss primitive (labels get none). */
export const LOSS_GRADS: { [P in keyof LossAttrs]: GradRule<P> } = {
  mse_loss: (dy, { inputs: [x, labels], attrs, apply }) => [
    apply("mse_loss_grad", [dy, x, labels], attrs),
    null,
  ],
  mse_loss_grad: notDifferentiable("a backward kernel"),
};
