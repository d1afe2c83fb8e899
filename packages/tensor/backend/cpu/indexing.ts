/**
 * Indexing and ordering shared by the CPU reference kernels of several op
 * families: numpy broadcasting as a gather index, the keep-dims shape of a
 * reduction, and the one ordering every max-like kernel uses (`max`,
 * `argmax`, `max_pool2d` and its gradient).
 *
 * @module
 */
import { broadcastStrides, normalizeAxes, type Shape, sizeOf } from "../../shape.ts";

/**
 * For each element of `to` (row-major), the flat index of the element of
 * `from` that numpy broadcasting reads for it. Reading through this index is
 * `expand`; scattering through it with `+=` is `sum` (its adjoint).
 */
export function broadcastIndex(from: Shape, to: Shape): Int32Array {
  const strides = broadcastStrides(from, to);
  const size = sizeOf(to);
  const index = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    let rest = i;
    let offset = 0;
    for (let d = to.length - 1; d >= 0; d--) {
      const coord = rest % to[d];
      rest = Math.floor(rest / to[d]);
      offset += coord * strides[d];
    }
    index[i] = offset;
  }
  return index;
}

/** `shape` with the reduced `axes` set to 1 (the keep-dims reduction shape). */
export function keptShape(shape: Shape, axes: readonly number[]): number[] {
  const norm = normalizeAxes(axes, shape.length);
  return shape.map((d, i) => (norm.includes(i) ? 1 : d));
}

/**
 * Whether `v` should replace the running best `best` while scanning in order:
 * strictly greater (so the FIRST of tied maxima wins), with NaN counting as
 * larger than any number (so a NaN propagates and the first NaN wins, as
 * torch's max, argmax and max_pool2d do).
 */
export function isGreater(v: number, best: number): boolean {
  return v > best || (Number.isNaN(v) && !Number.isNaN(best));
}
