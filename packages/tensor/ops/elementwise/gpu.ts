/**
 * The elementwise family's WebGPU kernels (elementwise.wgsl): unary ops a
 * thread per 4 elements, binary ops 4 per thread when no broadcasting is
 * needed, else a thread per element reading both operands through broadcast
 * strides (adjacent dims merged first, so `[N,C,H,W] + [1,C,1,1]` decodes 3
 * dims).
 *
 * @module
 */
import type { OpAttrs } from "../op_name.ts";
import { broadcastStrides, sizeOf } from "../../shape.ts";
import type { GpuKernel } from "../../backend/webgpu/context.ts";
import { collapse, dims, threads1d, WG } from "../../backend/webgpu/launch.ts";
import {
  encodeUniforms,
  uniformLayout,
  type WgslDeclarations,
  wgslEnum,
} from "../../backend/webgpu/uniforms.ts";
import { elementwiseWgsl } from "./elementwise_wgsl.generated.ts";

/** The `OP` code of each unary op (WGSL `const UNARY_<OP>`). */
const UNARY_OP = wgslEnum("UNARY_", {
  neg: 0,
  exp: 1,
  log: 2,
  sqrt: 3,
  relu: 4,
  nan_to_num: 6,
  affine: 7,
  scaled_relu: 8,
});

/** The `OP` code of each binary op (WGSL `const BINARY_<OP>`). */
const BINARY_OP = wgslEnum("BINARY_", {
  add: 0,
  sub: 1,
  mul: 2,
  div: 3,
  eq: 4,
  relu_grad: 5,
});

/** The unary ops. */
type UnaryOp = keyof typeof UNARY_OP.codes;
/** The binary ops. */
type BinaryOp = keyof typeof BINARY_OP.codes;

/** Uniform block of `unary4` and `binary4` (vec4 count, grid x, affine's mul and add). */
const UNARY_UNIFORMS = uniformLayout("Unary", {
  n: "u32",
  nx: "u32",
  mul: "f32",
  add: "f32",
});

/** Uniform block of the broadcasting `binary`: shape and both operands' strides. */
const STRIDED_UNIFORMS = uniformLayout("Strided", {
  n: "u32",
  nx: "u32",
  rank: "u32",
  pad: "u32",
  shape: "array<vec4<u32>, 2>",
  sa: "array<vec4<u32>, 2>",
  sb: "array<vec4<u32>, 2>",
});

/** What elementwise.wgsl must agree with (checked by uniforms_test.ts). */
export const ELEMENTWISE_WGSL: WgslDeclarations = {
  file: "elementwise.wgsl",
  source: elementwiseWgsl,
  uniforms: [UNARY_UNIFORMS, STRIDED_UNIFORMS],
  enums: [UNARY_OP, BINARY_OP],
};

/** A unary kernel: a thread per 4 elements (buffers are padded to 16 bytes). */
function unary<P extends UnaryOp>(op: P): GpuKernel<OpAttrs[P]> {
  return (ctx, [x], attrs, out) => {
    const n4 = Math.ceil(sizeOf(out.shape) / 4);
    if (n4 === 0) return;
    const { workgroups, nx } = threads1d(n4);
    const a = attrs as Partial<OpAttrs["affine"] & OpAttrs["scaled_relu"]>;
    ctx.dispatch({
      label: op,
      code: elementwiseWgsl,
      entryPoint: "unary4",
      constants: { OP: UNARY_OP.codes[op], WG },
      uniforms: encodeUniforms(UNARY_UNIFORMS, {
        n: n4,
        nx,
        mul: a.mul ?? a.scale ?? 1,
        add: a.add ?? 0,
      }),
      buffers: [x.buffer, out.buffer],
      workgroups,
    });
  };
}

/**
 * A binary kernel: same-shape operands run 4 elements per thread; otherwise a
 * thread per element reads both through broadcast strides.
 */
function binary<P extends BinaryOp>(op: P): GpuKernel<OpAttrs[P]> {
  return (ctx, [a, b], attrs, out) => {
    const size = sizeOf(out.shape);
    if (size === 0) return;
    if (sizeOf(a.shape) === size && sizeOf(b.shape) === size) {
      const n4 = Math.ceil(size / 4);
      const { workgroups, nx } = threads1d(n4);
      const scale = (attrs as Partial<OpAttrs["relu_grad"]>).scale ?? 1;
      ctx.dispatch({
        label: op,
        code: elementwiseWgsl,
        entryPoint: "binary4",
        constants: { OP: BINARY_OP.codes[op], WG },
        uniforms: encodeUniforms(UNARY_UNIFORMS, { n: n4, nx, mul: scale }),
        buffers: [a.buffer, b.buffer, out.buffer],
        workgroups,
      });
      return;
    }
    const c = collapse(out.shape, [
      broadcastStrides(a.shape, out.shape),
      broadcastStrides(b.shape, out.shape),
    ]);
    const { workgroups, nx } = threads1d(size);
    ctx.dispatch({
      label: op,
      code: elementwiseWgsl,
      entryPoint: "binary",
      constants: { OP: BINARY_OP.codes[op], WG },
      uniforms: encodeUniforms(STRIDED_UNIFORMS, {
        n: size,
        nx,
        rank: c.shape.length,
        shape: dims(c.shape),
        sa: dims(c.strides[0]),
        sb: dims(c.strides[1]),
      }),
      buffers: [a.buffer, b.buffer, out.buffer],
      workgroups,
    });
  };
}

/** The elementwise family's WebGPU kernels. */
export const ELEMENTWISE_GPU_KERNELS: { [P in UnaryOp | BinaryOp]: GpuKernel<OpAttrs[P]> } = {
  neg: unary("neg"),
  exp: unary("exp"),
  log: unary("log"),
  sqrt: unary("sqrt"),
  relu: unary("relu"),
  scaled_relu: unary("scaled_relu"),
  nan_to_num: unary("nan_to_num"),
  affine: unary("affine"),
  relu_grad: binary("relu_grad"),
  add: binary("add"),
  sub: binary("sub"),
  mul: binary("mul"),
  div: binary("div"),
  eq: binary("eq"),
};
