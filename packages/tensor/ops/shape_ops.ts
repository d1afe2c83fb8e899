/**
 * Shape ops: views (reshape, flatten) and broadcasting copies (expand).
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { apply } from "./_apply.ts";

/** The same elements with a new shape (a view; one dim may be -1). */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  return x.reshape(shape);
}

/** Collapses dims from `startDim` on into one, like torch.flatten(x, 1). */
export function flatten(x: Tensor, startDim = 1): Tensor {
  return x.reshape([...x.shape.slice(0, startDim), -1]);
}

/** Broadcasts `x` to `shape` (numpy rules), copying. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  if (x.shape.length === shape.length && x.shape.every((d, i) => d === shape[i])) {
    return x.reshape(shape);
  }
  return apply("expand", [x], { shape: [...shape] });
}
