/**
 * Elementwise ops. Binary ops broadcast like numpy; a number operand becomes
 * an `affine` (no tensor is made for it).
 *
 * @module
 */
import type { Tensor } from "../../tensor.ts";
import { apply } from "../_apply.ts";

/** −x. */
export function neg(x: Tensor): Tensor {
  return apply("neg", [x], {});
}

/** eˣ. */
export function exp(x: Tensor): Tensor {
  return apply("exp", [x], {});
}

/** Natural log. */
export function log(x: Tensor): Tensor {
  return apply("log", [x], {});
}

/** √x. */
export function sqrt(x: Tensor): Tensor {
  return apply("sqrt", [x], {});
}

/** max(x, 0). */
export function relu(x: Tensor): Tensor {
  return apply("relu", [x], {});
}

/** NaN → 0 and ±∞ → ±float32 max, as torch.nan_to_num. */
export function nanToNum(x: Tensor): Tensor {
  return apply("nan_to_num", [x], {});
}

/** x · mul + add, with scalar constants. */
export function affine(x: Tensor, options: { mul?: number; add?: number }): Tensor {
  return apply("affine", [x], { mul: options.mul ?? 1, add: options.add ?? 0 });
}

/**
 * a + b (broadcasting).
 *
 * @example
 * ```ts
 * import { add, tensor } from "@agd/tensor";
 * const y = add(tensor([1, 2, 3, 4], { shape: [2, 2] }), tensor([10, 20]));
 * console.log(await y.data()); // Float32Array [11, 22, 13, 24]
 * ```
 */
export function add(a: Tensor, b: Tensor | number): Tensor {
  return typeof b === "number" ? affine(a, { add: b }) : apply("add", [a, b], {});
}

/** a − b (broadcasting). */
export function sub(a: Tensor, b: Tensor | number): Tensor {
  return typeof b === "number" ? affine(a, { add: -b }) : apply("sub", [a, b], {});
}

/** a · b elementwise (broadcasting). */
export function mul(a: Tensor, b: Tensor | number): Tensor {
  return typeof b === "number" ? affine(a, { mul: b }) : apply("mul", [a, b], {});
}

/** a / b elementwise (broadcasting). */
export function div(a: Tensor, b: Tensor | number): Tensor {
  return typeof b === "number" ? affine(a, { mul: 1 / b }) : apply("div", [a, b], {});
}

/** 1 where a == b, else 0 (broadcasting; no gradient). */
export function eq(a: Tensor, b: Tensor): Tensor {
  return apply("eq", [a, b], {});
}

/** x². */
export function square(x: Tensor): Tensor {
  return mul(x, x);
}

/**
 * relu(x)·scale in one pass; the default √2 is the FCN activation of the AGD
 * paper (it keeps the second moment through relu).
 *
 * @param x input
 * @param scale multiplier of the positive part (default √2)
 * @returns max(x, 0)·scale
 * @example
 * ```ts
 * import { scaledRelu, tensor } from "@agd/tensor";
 * console.log(await scaledRelu(tensor([-1, 2]), 3).data()); // Float32Array [0, 6]
 * ```
 */
export function scaledRelu(x: Tensor, scale: number = Math.SQRT2): Tensor {
  return apply("scaled_relu", [x], { scale });
}
