/**
 * The misc family's WebGPU kernels (misc.wgsl): data movement, that is the
 * numpy broadcast copy `expand` and `one_hot`, a thread per output element.
 *
 * @module
 */
import type { OpAttrs } from "../op_name.ts";
import { broadcastStrides, sizeOf, stridesOf } from "../../shape.ts";
import type { GpuKernel } from "../../backend/webgpu/context.ts";
import { collapse, dims, threads1d, WG } from "../../backend/webgpu/launch.ts";
import {
  encodeUniforms,
  uniformLayout,
  type WgslDeclarations,
} from "../../backend/webgpu/uniforms.ts";
import { miscWgsl } from "./misc_wgsl.generated.ts";

/** Uniform block of `expand`: the output shape and the input's (broadcast) strides. */
const EXPAND_UNIFORMS = uniformLayout("Expand", {
  n: "u32",
  nx: "u32",
  rank: "u32",
  pad: "u32",
  shape: "array<vec4<u32>, 2>",
  stride: "array<vec4<u32>, 2>",
});

/** Uniform block of `one_hot`. */
const ONE_HOT_UNIFORMS = uniformLayout("OneHot", {
  n: "u32",
  nx: "u32",
  classes: "u32",
  value: "f32",
});

/** What misc.wgsl must agree with (checked by uniforms_test.ts). */
export const MISC_WGSL: WgslDeclarations = {
  file: "misc.wgsl",
  source: miscWgsl,
  uniforms: [EXPAND_UNIFORMS, ONE_HOT_UNIFORMS],
  enums: [],
};

/** numpy broadcast copy of 32-bit words (float32 or int32). */
const expand: GpuKernel<OpAttrs["expand"]> = (ctx, [x], _attrs, out) => {
  const size = sizeOf(out.shape);
  if (size === 0) return;
  const c = collapse(out.shape, [broadcastStrides(x.shape, out.shape), stridesOf(out.shape)]);
  const { workgroups, nx } = threads1d(size);
  ctx.dispatch({
    label: "expand",
    code: miscWgsl,
    entryPoint: "expand",
    constants: { WG },
    uniforms: encodeUniforms(EXPAND_UNIFORMS, {
      n: size,
      nx,
      rank: c.shape.length,
      shape: dims(c.shape),
      stride: dims(c.strides[0]),
    }),
    buffers: [x.buffer, out.buffer],
    workgroups,
  });
};

/** [N] labels → [N, classes] rows with `value` at the label. */
const oneHot: GpuKernel<OpAttrs["one_hot"]> = (ctx, [labels], attrs, out) => {
  const size = sizeOf(out.shape);
  if (size === 0) return;
  const { workgroups, nx } = threads1d(size);
  ctx.dispatch({
    label: "one_hot",
    code: miscWgsl,
    entryPoint: "one_hot",
    constants: { WG },
    uniforms: encodeUniforms(ONE_HOT_UNIFORMS, {
      n: size,
      nx,
      classes: attrs.classes,
      value: attrs.value,
    }),
    buffers: [labels.buffer, out.buffer],
    workgroups,
  });
};

/** The misc family's WebGPU kernels. */
export const MISC_GPU_KERNELS: { [P in "expand" | "one_hot"]: GpuKernel<OpAttrs[P]> } = {
  expand,
  one_hot: oneHot,
};
