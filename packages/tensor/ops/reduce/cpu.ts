/**
 * CPU reference kernels of the reductions. Sums accumulate in float64.
 *
 * @module
 */
import type { CpuInput, CpuKernel, CpuOutput } from "../../backend/cpu/kernel.ts";
import { broadcastIndex, isGreater, keptShape } from "../../backend/cpu/indexing.ts";
import type { ReduceAttrs } from "./primitives.ts";

/** Sum over `attrs.axes`, keeping them as size-1 dims. */
function sum([x]: CpuInput[], attrs: { axes: number[] }, out: CpuOutput): void {
  const acc = new Float64Array(out.data.length);
  const slot = broadcastIndex(keptShape(x.shape, attrs.axes), x.shape);
  for (let i = 0; i < x.data.length; i++) acc[slot[i]] += x.data[i];
  out.data.set(acc);
}

/**
 * Max over `attrs.axes`, keeping them as size-1 dims. An empty or all -inf
 * set gives -inf; a NaN anywhere in the set gives NaN (as torch.amax).
 */
function max([x]: CpuInput[], attrs: { axes: number[] }, out: CpuOutput): void {
  out.data.fill(-Infinity);
  const slot = broadcastIndex(keptShape(x.shape, attrs.axes), x.shape);
  for (let i = 0; i < x.data.length; i++) {
    if (isGreater(x.data[i], out.data[slot[i]])) out.data[slot[i]] = x.data[i];
  }
}

/**
 * Index of the max along the last axis, as int32; the first one on ties (a
 * NaN counts as larger than any number, so the first NaN wins, as torch).
 */
function argmax([x]: CpuInput[], _attrs: unknown, out: CpuOutput): void {
  const c = x.shape[x.shape.length - 1];
  for (let row = 0; row < out.data.length; row++) {
    let best = 0;
    for (let j = 1; j < c; j++) {
      if (isGreater(x.data[row * c + j], x.data[row * c + best])) best = j;
    }
    out.data[row] = best;
  }
}

/** The CPU reference of each reduction. */
export const REDUCE_CPU: { [P in keyof ReduceAttrs]: CpuKernel<ReduceAttrs[P]> } = {
  sum,
  max,
  argmax,
};
