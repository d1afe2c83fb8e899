/**
 * Gradient rules of the data-movement primitives and of the reshape view.
 *
 * @module
 */
import { type GradRule, notDifferentiable, unbroadcast } from "../../autograd/vjp.ts";
import type { MiscAttrs, ViewAttrs } from "./primitives.ts";

/** The vector-Jacobian product of each data-movement primitive and view op. */
export const MISC_GRADS: { [P in keyof (MiscAttrs & ViewAttrs)]: GradRule<P> } = {
  expand: (dy, { inputs: [x] }) => [unbroadcast(dy, x.shape)],
  one_hot: notDifferentiable("an integer op"),
  // A view's adjoint is the view back: the same elements in the input's shape.
  reshape: (dy, { attrs }) => [dy.reshape(attrs.from)],
};
