/**
 * The optimizer's fused ops have no gradients: an optimizer step runs under
 * noGrad, and nothing differentiates through it.
 *
 * @module
 */
import { type GradRule, notDifferentiable } from "../../autograd/vjp.ts";
import type { OptimAttrs } from "./primitives.ts";

const step = notDifferentiable("part of the optimizer step, which runs under noGrad");

/** The declaration that no optimizer primitive is differentiated. */
export const OPTIM_GRADS: { [P in keyof OptimAttrs]: GradRule<P> } = {
  agd_terms: step,
  agd_eta: step,
  agd_update: step,
};
