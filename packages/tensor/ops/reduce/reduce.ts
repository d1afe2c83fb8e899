/**
 * Reductions over axes, and log-sum-exp built from them.
 *
 * @module
 */
import { normalizeAxes, sizeOf } from "../../shape.ts";
import { noGrad, type Tensor } from "../../tensor.ts";
import { apply } from "../_apply.ts";
import { add, affine, exp, log, sub } from "../elementwise/elementwise.ts";

/** Which axes to reduce and whether to keep them as size-1 dims. */
export interface ReduceOptions {
  /** Axes to reduce (default: all). Negative counts from the end. */
  axes?: readonly number[];
  /** Keep reduced axes as size-1 dims (default false). */
  keepDims?: boolean;
}

function reduceWith(op: "sum" | "max", x: Tensor, options: ReduceOptions): Tensor {
  const axes = normalizeAxes(options.axes ?? x.shape.map((_, i) => i), x.shape.length);
  const kept = apply(op, [x], { axes });
  if (options.keepDims) return kept;
  return kept.reshape(x.shape.filter((_, i) => !axes.includes(i)));
}

/**
 * Sum over `axes`.
 *
 * @example
 * ```ts
 * import { sum, tensor } from "@agd/tensor";
 * const s = sum(tensor([1, 2, 3, 4], { shape: [2, 2] }), { axes: [0] });
 * console.log(await s.data()); // Float32Array [4, 6]
 * ```
 */
export function sum(x: Tensor, options: ReduceOptions = {}): Tensor {
  return reduceWith("sum", x, options);
}

/** Mean over `axes`. */
export function mean(x: Tensor, options: ReduceOptions = {}): Tensor {
  const axes = normalizeAxes(options.axes ?? x.shape.map((_, i) => i), x.shape.length);
  const count = sizeOf(axes.map((a) => x.shape[a]));
  return affine(sum(x, options), { mul: 1 / count });
}

/** Max over `axes`. */
export function max(x: Tensor, options: ReduceOptions = {}): Tensor {
  return reduceWith("max", x, options);
}

/** Index of the max along the last axis (int32; first on ties). */
export function argmax(x: Tensor): Tensor {
  return apply("argmax", [x], {});
}

/** log Σ exp(x) over the last axis (stable: the max is subtracted first). Shape [..]. */
export function logSumExp(x: Tensor): Tensor {
  const last = x.shape.length - 1;
  const m = noGrad(() => max(x, { axes: [last], keepDims: true }));
  const s = log(sum(exp(sub(x, m)), { axes: [last], keepDims: true }));
  return add(s, m).reshape(x.shape.slice(0, -1));
}
