/**
 * Launch geometry shared by every family's GPU kernels: workgroup and tile
 * sizes, 1-D workgroup grids, and the dim merging that keeps strided shaders
 * decoding as few dims as possible.
 *
 * @module
 */
import type { Shape } from "../../shape.ts";
import { grid } from "./context.ts";

/** Threads per workgroup of the 1-D kernels (elementwise, reduce, pool, misc, loss, norm, optim). */
export const WG = 256;
/** Output tile edge of the GEMM kernels (matmul.wgsl, conv.wgsl). */
export const TILE = 64;
/** Most dims a strided uniform block holds (2 × vec4). */
export const MAX_DIMS = 8;

/**
 * Checks that `values` fit a strided uniform block's `array<vec4<u32>, 2>`.
 *
 * @param values dim sizes or strides
 * @returns `values`, for use inside a uniform literal
 */
export function dims(values: readonly number[]): readonly number[] {
  if (values.length > MAX_DIMS) {
    throw new Error(`WebGPU kernels support at most ${MAX_DIMS} dims, got ${values.length}`);
  }
  return values;
}

/**
 * Workgroup counts for a 1-D kernel of `threads` threads, and the x count.
 *
 * @param threads the thread count
 * @returns the workgroups and `nx` (the x count, for the shader's linear index)
 */
export function threads1d(threads: number): { workgroups: [number, number]; nx: number } {
  const workgroups = grid(Math.ceil(threads / WG));
  return { workgroups, nx: workgroups[0] };
}

/**
 * Drops size-1 dims and merges neighbours that every operand walks
 * contiguously (stride[i−1] = stride[i]·shape[i] for each strides array), so
 * the shader decodes as few dims as possible.
 *
 * @param shape the output shape
 * @param strides per operand, its strides over `shape`
 * @returns the merged shape and strides
 */
export function collapse(
  shape: Shape,
  strides: readonly (readonly number[])[],
): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    const last = outShape.length - 1;
    if (
      last >= 0 &&
      strides.every((s, t) => outStrides[t][last] === s[i] * shape[i])
    ) {
      outShape[last] *= shape[i];
      strides.forEach((s, t) => (outStrides[t][last] = s[i]));
    } else {
      outShape.push(shape[i]);
      strides.forEach((s, t) => outStrides[t].push(s[i]));
    }
  }
  return { shape: outShape, strides: outStrides };
}
