/**
 * CPU reference kernels of the data-movement primitives.
 *
 * @module
 */
import type { CpuInput, CpuKernel, CpuOutput } from "../../backend/cpu/kernel.ts";
import { broadcastIndex } from "../../backend/cpu/indexing.ts";
import type { MiscAttrs } from "./primitives.ts";

/** numpy broadcast of the input to `attrs.shape` (dtype preserved). */
function expand([x]: CpuInput[], _attrs: unknown, out: CpuOutput): void {
  const src = broadcastIndex(x.shape, out.shape);
  for (let i = 0; i < out.data.length; i++) out.data[i] = x.data[src[i]];
}

/** [N] int32 labels → [N, classes] with `value` at the label; out-of-range rows stay 0. */
function oneHot([labels]: CpuInput[], attrs: MiscAttrs["one_hot"], out: CpuOutput): void {
  const { classes, value } = attrs;
  out.data.fill(0);
  for (let n = 0; n < labels.data.length; n++) {
    const label = labels.data[n];
    if (label >= 0 && label < classes) out.data[n * classes + label] = value;
  }
}

/** The CPU reference of each data-movement primitive. */
export const MISC_CPU: { [P in keyof MiscAttrs]: CpuKernel<MiscAttrs[P]> } = {
  expand,
  one_hot: oneHot,
};
