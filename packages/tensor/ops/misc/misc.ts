/**
 * Shape and data-movement ops: views (reshape, flatten), broadcasting copies
 * (expand) and one-hot encoding.
 *
 * @module
 */
import type { Tensor } from "../../tensor.ts";
import { apply } from "../_apply.ts";

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

/** [N] int32 labels → [N, classes] float32 with `value` at each label. */
export function oneHot(labels: Tensor, classes: number, value = 1): Tensor {
  return apply("one_hot", [labels], { classes, value });
}
