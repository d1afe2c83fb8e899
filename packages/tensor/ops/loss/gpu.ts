/**
 * The loss family's WebGPU kernels (loss.wgsl): the AGD paper's square loss
 * fused, the forward in one workgroup (the loss is a scalar and N·C small),
 * the gradient a thread per element.
 *
 * @module
 */
import type { OpAttrs } from "../op_name.ts";
import { sizeOf } from "../../shape.ts";
import type { GpuKernel } from "../../backend/webgpu/context.ts";
import { threads1d, WG } from "../../backend/webgpu/launch.ts";
import {
  encodeUniforms,
  uniformLayout,
  type WgslDeclarations,
} from "../../backend/webgpu/uniforms.ts";
import { lossWgsl } from "./loss_wgsl.generated.ts";

/** Uniform block of both entry points: element count, grid x, classes, target value. */
const LOSS_UNIFORMS = uniformLayout("Loss", {
  n: "u32",
  nx: "u32",
  classes: "u32",
  value: "f32",
});

/** What loss.wgsl must agree with (checked by uniforms_test.ts). */
export const LOSS_WGSL: WgslDeclarations = {
  file: "loss.wgsl",
  source: lossWgsl,
  uniforms: [LOSS_UNIFORMS],
  enums: [],
};

/** The square loss: one workgroup reduces all N·C terms. */
const mseLoss: GpuKernel<OpAttrs["mse_loss"]> = (ctx, [x, labels], attrs, out) => {
  ctx.dispatch({
    label: "mse_loss",
    code: lossWgsl,
    entryPoint: "mse_loss",
    constants: { WG },
    uniforms: encodeUniforms(LOSS_UNIFORMS, {
      n: sizeOf(x.shape),
      classes: x.shape[1],
      value: attrs.value,
    }),
    buffers: [x.buffer, labels.buffer, out.buffer],
    workgroups: [1],
  });
};

/** The square loss's gradient, a thread per element. */
const mseLossGrad: GpuKernel<OpAttrs["mse_loss_grad"]> = (ctx, [dy, x, labels], attrs, out) => {
  const size = sizeOf(out.shape);
  if (size === 0) return;
  const { workgroups, nx } = threads1d(size);
  ctx.dispatch({
    label: "mse_loss_grad",
    code: lossWgsl,
    entryPoint: "mse_loss_grad",
    constants: { WG },
    uniforms: encodeUniforms(LOSS_UNIFORMS, {
      n: size,
      nx,
      classes: x.shape[1],
      value: attrs.value,
    }),
    buffers: [dy.buffer, x.buffer, labels.buffer, out.buffer],
    workgroups,
  });
};

/** The loss family's WebGPU kernels. */
export const LOSS_GPU_KERNELS: { [P in "mse_loss" | "mse_loss_grad"]: GpuKernel<OpAttrs[P]> } = {
  mse_loss: mseLoss,
  mse_loss_grad: mseLossGrad,
};
