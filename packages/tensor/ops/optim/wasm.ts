/**
 * The optim family's wasm kernels (`optim.c`): AGD's per-layer terms and its
 * fused update; η's reduction runs the reference loop.
 *
 * @module
 */
import { REFERENCE, type WasmEntry } from "../../backend/wasm/kernel.ts";
import { sizeOf } from "../../shape.ts";
import type { OptimAttrs } from "./primitives.ts";

/** The wasm entry of each optim primitive. */
export const OPTIM_WASM: { [P in keyof OptimAttrs]: WasmEntry<OptimAttrs[P]> } = {
  agd_terms: (rt, inputs, { weights }, out) => {
    let offset = 0;
    inputs.forEach((x, k) => {
      const slices = sizeOf(x.shape.slice(2));
      const rows = x.shape[0] * x.shape[1];
      rt.exports.agd_terms(x.storage.ptr, rows, slices, weights[k], out.ptr + 4 * offset);
      offset += slices;
    });
  },
  agd_eta: REFERENCE,
  agd_update: (rt, [w, g, terms, eta], { offset, mul }, out) => {
    rt.exports.agd_update(
      w.storage.ptr,
      g.storage.ptr,
      terms.storage.ptr + 4 * offset,
      eta.storage.ptr,
      out.ptr,
      sizeOf(out.shape),
      sizeOf(w.shape.slice(2)),
      mul,
    );
  },
};
