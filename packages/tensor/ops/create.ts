/**
 * Making tensors from host data.
 *
 * @module
 */
import type { Backend, TypedArray } from "../backend/backend.ts";
import { getBackend } from "../device.ts";
import { type DType, type Shape, showShape, sizeOf } from "../shape.ts";
import { Tensor } from "../tensor.ts";

/** Where and how to create a tensor. */
export interface CreateOptions {
  /** Dimensions (default: 1-D of the data's length). */
  shape?: Shape;
  /** Element type (default: from the array, float32 for number[]). */
  dtype?: DType;
  /** Device (default: {@link getBackend}). */
  backend?: Backend;
  /** Track gradients (for parameters). */
  requiresGrad?: boolean;
}

/**
 * A tensor holding a copy of `data`.
 *
 * @param data elements, row-major
 * @param options shape, dtype, backend, requiresGrad
 * @returns the new tensor
 * @example
 * ```ts
 * import { tensor } from "@agd/tensor";
 * const t = tensor([1, 2, 3, 4], { shape: [2, 2] });
 * console.log(await t.data()); // Float32Array [1, 2, 3, 4]
 * ```
 */
export function tensor(data: ArrayLike<number> | TypedArray, options: CreateOptions = {}): Tensor {
  const dtype = options.dtype ?? (data instanceof Int32Array ? "int32" : "float32");
  const shape = options.shape ?? [data.length];
  if (sizeOf(shape) !== data.length) {
    throw new Error(
      `Cannot make a tensor of shape ${showShape(shape)} from ${data.length} elements`,
    );
  }
  const array = dtype === "int32" ? Int32Array.from(data) : Float32Array.from(data);
  const backend = options.backend ?? getBackend();
  const t = new Tensor(backend, backend.upload(array), shape, dtype);
  t.requiresGrad = options.requiresGrad ?? false;
  return t;
}

/** A tensor filled with `value`. */
export function full(
  shape: Shape,
  value: number,
  options: Omit<CreateOptions, "shape"> = {},
): Tensor {
  const n = sizeOf(shape);
  const data = options.dtype === "int32" ? new Int32Array(n) : new Float32Array(n);
  data.fill(value);
  return tensor(data, { ...options, shape });
}

/** A float32 tensor of zeros. */
export function zeros(shape: Shape, options: Omit<CreateOptions, "shape"> = {}): Tensor {
  return full(shape, 0, options);
}

/** A float32 tensor of ones. */
export function ones(shape: Shape, options: Omit<CreateOptions, "shape"> = {}): Tensor {
  return full(shape, 1, options);
}
