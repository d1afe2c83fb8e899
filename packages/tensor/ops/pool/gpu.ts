/**
 * The pool family's WebGPU kernels (pool.wgsl): a thread per output cell
 * (forward) or per input cell gathering from the windows that cover it
 * (gradients, so overlapping windows need no float atomics).
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
import { poolWgsl } from "./pool_wgsl.generated.ts";

/** Uniform block of every entry point: thread count, grid x, sizes and window geometry. */
const POOL_UNIFORMS = uniformLayout("Pool", {
  n: "u32",
  nx: "u32",
  h: "i32",
  w: "i32",
  oh: "i32",
  ow: "i32",
  kh: "i32",
  kw: "i32",
  sh: "i32",
  sw: "i32",
  ph: "i32",
  pw: "i32",
});

/** What pool.wgsl must agree with (checked by uniforms_test.ts). */
export const POOL_WGSL: WgslDeclarations = {
  file: "pool.wgsl",
  source: poolWgsl,
  uniforms: [POOL_UNIFORMS],
  enums: [],
};

/** The pooling ops. */
type PoolOp = "max_pool2d" | "avg_pool2d" | "max_pool2d_grad" | "avg_pool2d_grad";

/** pool.wgsl's entry point of each op. */
const ENTRY_POINTS: { readonly [P in PoolOp]: string } = {
  max_pool2d: "max_pool",
  avg_pool2d: "avg_pool",
  max_pool2d_grad: "max_grad",
  avg_pool2d_grad: "avg_grad",
};

/** A pool.wgsl entry: a thread per output cell (forward) or input cell (grads). */
function pool<P extends PoolOp>(op: P): GpuKernel<OpAttrs[P]> {
  return (ctx, inputs, attrs, out) => {
    const size = sizeOf(out.shape);
    if (size === 0) return;
    let h: number, w: number, oh: number, ow: number;
    if (op === "max_pool2d" || op === "avg_pool2d") {
      [, , h, w] = inputs[0].shape;
      [, , oh, ow] = out.shape;
    } else if (op === "max_pool2d_grad") {
      [, , h, w] = inputs[0].shape;
      [, , oh, ow] = inputs[1].shape;
    } else {
      [h, w] = (attrs as OpAttrs["avg_pool2d_grad"]).inputHW;
      [, , oh, ow] = inputs[0].shape;
    }
    const { workgroups, nx } = threads1d(size);
    ctx.dispatch({
      label: op,
      code: poolWgsl,
      entryPoint: ENTRY_POINTS[op],
      constants: { WG },
      uniforms: encodeUniforms(POOL_UNIFORMS, {
        n: size,
        nx,
        h,
        w,
        oh,
        ow,
        kh: attrs.kernel[0],
        kw: attrs.kernel[1],
        sh: attrs.stride[0],
        sw: attrs.stride[1],
        ph: attrs.padding[0],
        pw: attrs.padding[1],
      }),
      buffers: [...inputs.map((i) => i.buffer), out.buffer],
      workgroups,
    });
  };
}

/** The pool family's WebGPU kernels. */
export const POOL_GPU_KERNELS: { [P in PoolOp]: GpuKernel<OpAttrs[P]> } = {
  max_pool2d: pool("max_pool2d"),
  max_pool2d_grad: pool("max_pool2d_grad"),
  avg_pool2d: pool("avg_pool2d"),
  avg_pool2d_grad: pool("avg_pool2d_grad"),
};
