/**
 * The norm family's wasm kernels (`norm.c`): batch norm's statistics,
 * normalisation and gradient, sums in double lanes; the running-statistics
 * update runs the reference loop.
 *
 * @module
 */
import { REFERENCE, type WasmEntry } from "../../backend/wasm/kernel.ts";
import { sizeOf } from "../../shape.ts";
import type { NormAttrs } from "./primitives.ts";

/** N, C and S (the trailing size) of a batch-norm operand [N, C, ...]. */
function channelDims(shape: readonly number[]): [number, number, number] {
  return [shape[0], shape[1], sizeOf(shape.slice(2))];
}

/** The wasm entry of each norm primitive. */
export const NORM_WASM: { [P in keyof NormAttrs]: WasmEntry<NormAttrs[P]> } = {
  bn_stats: (rt, [x], _attrs, out) =>
    void rt.exports.bn_stats(x.storage.ptr, ...channelDims(x.shape), out.ptr),
  batch_norm: (rt, [x, stats], { eps }, out) =>
    void rt.exports.batch_norm(
      x.storage.ptr,
      stats.storage.ptr,
      out.ptr,
      ...channelDims(x.shape),
      eps,
    ),
  batch_norm_grad: (rt, [dy, x, stats], { eps }, out) =>
    void rt.exports.batch_norm_grad(
      dy.storage.ptr,
      x.storage.ptr,
      stats.storage.ptr,
      out.ptr,
      ...channelDims(x.shape),
      eps,
    ),
  bn_running: REFERENCE,
};
