/**
 * CPU reference kernels of the AGD optimizer's fused primitives.
 *
 * @module
 */
import type { CpuInput, CpuKernel, CpuOutput } from "../../backend/cpu/kernel.ts";
import { sizeOf } from "../../shape.ts";
import { nanToNumber } from "../elementwise/cpu.ts";
import type { OptimAttrs } from "./primitives.ts";

/** Per input k and slice r of its dims past the first two: weights[k]·‖x_k[:, :, r]‖_F, packed. */
function agdTerms(inputs: CpuInput[], attrs: OptimAttrs["agd_terms"], out: CpuOutput): void {
  let offset = 0;
  inputs.forEach((x, k) => {
    const slices = sizeOf(x.shape.slice(2));
    const rows = x.shape[0] * x.shape[1];
    for (let r = 0; r < slices; r++) {
      let acc = 0;
      for (let i = 0; i < rows; i++) acc += x.data[i * slices + r] ** 2;
      out.data[offset + r] = attrs.weights[k] * Math.sqrt(acc);
    }
    offset += slices;
  });
}

/** η = log((1 + √(1 + 4G)) / 2) with G the sum of the terms. */
function agdEta([terms]: CpuInput[], _attrs: unknown, out: CpuOutput): void {
  let g = 0;
  for (const t of terms.data) g += t;
  out.data[0] = Math.log((1 + Math.sqrt(1 + 4 * g)) / 2);
}

/** w − nan_to_num(mul·η / terms[offset + r])·g, r the slice of each element. */
function agdUpdate(
  [w, g, terms, eta]: CpuInput[],
  attrs: OptimAttrs["agd_update"],
  out: CpuOutput,
): void {
  const slices = sizeOf(w.shape.slice(2));
  const c = attrs.mul * eta.data[0];
  for (let i = 0; i < out.data.length; i++) {
    const factor = nanToNumber(c / terms.data[attrs.offset + (i % slices)]);
    out.data[i] = w.data[i] - factor * g.data[i];
  }
}

/** The CPU reference of each optimizer primitive. */
export const OPTIM_CPU: { [P in keyof OptimAttrs]: CpuKernel<OptimAttrs[P]> } = {
  agd_terms: agdTerms,
  agd_eta: agdEta,
  agd_update: agdUpdate,
};
