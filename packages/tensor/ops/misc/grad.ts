/**
 * Gradient rules of the data-movement primitives and of the reshape view.
 *
 * @module
 */
import { type GradRule, notDifferentiable, unbroadcast } from "../../autograd/vjp.ts";
import type { MiscAttrs, ViewAttrs } from "./primitives.ts";

/** The vector-Jacobian product of each data-movement primitive. */
export const MISC_GRADS: { [P in keyof MiscAttrs]: GradRule<P> } = {
  expand: (dy, { inputs: [x], apply }) => [unbroadcast(apply, dy, x.shape)],
  one_hot: notDifferentiable("an integer op"),
};

/** The vector-Jacobian product of each view op. */
export const VIEW_GRADS: { [P in keyof ViewAttrs]: GradRule<P> } = {
  // A view's adjoint is the view back: the same elements in the input's shape.
  reshape: (dy, { attrs }) => [dy.reshape(attrs.from)],
};
