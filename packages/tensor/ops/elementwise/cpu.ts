/**
 * CPU reference kernels of the elementwise primitives: one plain loop each,
 * binary ops reading their operands through numpy broadcasting.
 *
 * @module
 */
import type { OpAttrs } from "../op_name.ts";
import type { CpuKernel } from "../../backend/cpu/kernel.ts";
import { broadcastIndex } from "../../backend/cpu/indexing.ts";
import type { ElementwiseAttrs } from "./primitives.ts";

/** The largest finite float32, which ±Inf become under `nan_to_num`. */
const F32_MAX = 3.4028234663852886e38;

/** A unary float32 kernel applying `f` to each element. */
function unary<P extends keyof ElementwiseAttrs>(
  f: (x: number, attrs: ElementwiseAttrs[P]) => number,
): CpuKernel<OpAttrs[P]> {
  return ([x], attrs, out) => {
    for (let i = 0; i < out.data.length; i++) out.data[i] = f(x.data[i], attrs);
  };
}

/** A binary float32 kernel applying `f` with numpy broadcasting. */
function binary<P extends keyof ElementwiseAttrs>(
  f: (a: number, b: number) => number,
): CpuKernel<OpAttrs[P]> {
  return ([a, b], _attrs, out) => {
    const ia = broadcastIndex(a.shape, out.shape);
    const ib = broadcastIndex(b.shape, out.shape);
    for (let i = 0; i < out.data.length; i++) out.data[i] = f(a.data[ia[i]], b.data[ib[i]]);
  };
}

/** torch.nan_to_num: NaN → 0, ±Inf → ±float32 max, finite values unchanged. */
export function nanToNumber(x: number): number {
  if (Number.isNaN(x)) return 0;
  if (x === Infinity) return F32_MAX;
  if (x === -Infinity) return -F32_MAX;
  return x;
}

/** The CPU reference of each elementwise primitive. */
export const ELEMENTWISE_CPU: { [P in keyof ElementwiseAttrs]: CpuKernel<ElementwiseAttrs[P]> } = {
  neg: unary((x) => -x),
  exp: unary(Math.exp),
  log: unary(Math.log),
  sqrt: unary(Math.sqrt),
  relu: unary((x) => Math.max(x, 0)),
  scaled_relu: unary<"scaled_relu">((x, { scale }) => Math.max(x, 0) * scale),
  relu_grad: ([dy, x], { scale }, out) => {
    for (let i = 0; i < out.data.length; i++) out.data[i] = x.data[i] > 0 ? dy.data[i] * scale : 0;
  },
  nan_to_num: unary(nanToNumber),
  affine: unary<"affine">((x, { mul, add }) => x * mul + add),
  add: binary((a, b) => a + b),
  sub: binary((a, b) => a - b),
  mul: binary((a, b) => a * b),
  div: binary((a, b) => a / b),
  eq: binary((a, b) => (a === b ? 1 : 0)),
};
