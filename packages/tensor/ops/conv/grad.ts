/**
 * Gradient rules of the convolution primitives: conv2d's emits its two
 * backward kernels, which are not differentiated themselves.
 *
 * @module
 */
import { type GradRule, notDifferentiable } from "../../autograd/vjp.ts";
import type { ConvOpAttrs } from "./primitives.ts";

/** The vector-Jacobian product of each convolution primitive. */
export const CONV_GRADS: { [P in keyof ConvOpAttrs]: GradRule<P> } = {
  conv2d: (dy, { inputs: [x, w], attrs, needs, apply }) => [
    needs[0]
      ? apply("conv2d_grad_input", [dy, w], { ...attrs, inputHW: [x.shape[2], x.shape[3]] })
      : null,
    needs[1]
      ? apply("conv2d_grad_weight", [x, dy], { ...attrs, kernel: [w.shape[2], w.shape[3]] })
      : null,
  ],
  conv2d_grad_input: notDifferentiable("a backward kernel"),
  conv2d_grad_weight: notDifferentiable("a backward kernel"),
};
