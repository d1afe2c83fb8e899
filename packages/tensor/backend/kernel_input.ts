/**
 * What every backend's kernels read: an input's storage with its logical
 * shape and dtype, and the host arrays data moves in.
 *
 * @module
 */
import type { DType, Shape } from "../shape.ts";

/** Typed array for a dtype. */
export type TypedArray = Float32Array | Int32Array;

/** An input of a kernel: its storage plus the logical shape and dtype. */
export interface KernelInput<S> {
  /** Backend storage holding at least `sizeOf(shape)` elements. */
  storage: S;
  /** Logical shape. */
  shape: Shape;
  /** Element type. */
  dtype: DType;
}
