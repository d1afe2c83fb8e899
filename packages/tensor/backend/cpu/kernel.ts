/**
 * The signature of a CPU reference kernel: plain loops on typed arrays that
 * define what each op means. Every WGSL kernel is validated against these.
 *
 * @module
 */
import type { DType, Shape } from "../../shape.ts";
import type { TypedArray } from "../kernel_input.ts";

/** A CPU kernel input: data of exactly `sizeOf(shape)` elements. */
export interface CpuInput {
  /** Row-major elements. */
  data: TypedArray;
  /** Logical shape. */
  shape: Shape;
  /** Element type. */
  dtype: DType;
}

/** A CPU kernel output, allocated (zero-filled) by the caller. */
export interface CpuOutput {
  /** Row-major elements to fill. */
  data: TypedArray;
  /** Shape, as computed by the op's shape rule. */
  shape: Shape;
}

/** A reference kernel of an op with attributes `A`. */
export type CpuKernel<A> = (
  inputs: CpuInput[],
  attrs: A,
  out: CpuOutput,
) => void;
