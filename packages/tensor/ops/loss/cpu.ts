/**
 * CPU reference kernels of the fused losses, accumulated in float64.
 *
 * @module
 */
import type { CpuInput, CpuKernel, CpuOutput } from "../../backend/cpu/kernel.ts";
import type { LossAttrs } from "./primitives.ts";

/** Mean over [N, C] of (x − value·onehot(labels))², accumulated in float64. */
function mseLoss([x, labels]: CpuInput[], attrs: LossAttrs["mse_loss"], out: CpuOutput): void {
  const classes = x.shape[1];
  let acc = 0;
  for (let i = 0; i < x.data.length; i++) {
    const target = labels.data[Math.floor(i / classes)] === i % classes ? attrs.value : 0;
    acc += (x.data[i] - target) ** 2;
  }
  out.data[0] = x.data.length > 0 ? acc / x.data.length : NaN;
}

/** dy · 2(x − value·onehot(labels)) / (N·C). */
function mseLossGrad(
  [dy, x, labels]: CpuInput[],
  attrs: LossAttrs["mse_loss_grad"],
  out: CpuOutput,
): void {
  const classes = x.shape[1];
  const scale = (2 * dy.data[0]) / x.data.length;
  for (let i = 0; i < x.data.length; i++) {
    const target = labels.data[Math.floor(i / classes)] === i % classes ? attrs.value : 0;
    out.data[i] = scale * (x.data[i] - target);
  }
}

/** The CPU reference of each loss primitive. */
export const LOSS_CPU: { [P in keyof LossAttrs]: CpuKernel<LossAttrs[P]> } = {
  mse_loss: mseLoss,
  mse_loss_grad: mseLossGrad,
};
