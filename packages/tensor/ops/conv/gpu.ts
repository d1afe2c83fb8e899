/**
 * The conv family's WebGPU kernels (conv.wgsl): conv2d and its two gradients
 * as implicit GEMMs (im2col gathered on the fly) on the matmul family's
 * 64×64-tile scheme, split over K when the output has too few tiles to fill
 * the GPU. The texture variant gathers the same GEMMs' operands into textures
 * for matmul.wgsl's `main_tex` (chosen with matmul's by measurement).
 *
 * @module
 */
import type { OpAttrs } from "../op_name.ts";
import type { Shape } from "../../shape.ts";
import {
  type GpuContext,
  type GpuInput,
  type GpuKernel,
  type GpuOutput,
  grid,
} from "../../backend/webgpu/context.ts";
import { TILE } from "../../backend/webgpu/launch.ts";
import {
  encodeUniforms,
  uniformLayout,
  type WgslDeclarations,
  type WgslEnum,
  wgslEnum,
} from "../../backend/webgpu/uniforms.ts";
import { gemmGrid, splitGemm, textureGemm, textureGemmFits } from "../matmul/gpu.ts";
import { convWgsl } from "./conv_wgsl.generated.ts";

/**
 * The GEMM conv.wgsl runs (its `MODE`): conv2d, its input gradient (whole,
 * or one sub-pixel phase of a strided conv), its weight gradient.
 */
export type ConvMode = "forward" | "grad_input" | "grad_weight" | "grad_input_phase";

/** The `MODE` code of each GEMM (WGSL `const MODE_<MODE>`). */
const CONV_MODE: WgslEnum<ConvMode> = wgslEnum("MODE_", {
  forward: 0,
  grad_input: 1,
  grad_weight: 2,
  grad_input_phase: 3,
});

/** The op each mode computes (the dispatch label). */
const LABEL: { readonly [M in ConvMode]: string } = {
  forward: "conv2d",
  grad_input: "conv2d_grad_input",
  grad_weight: "conv2d_grad_weight",
  grad_input_phase: "conv2d_grad_input",
};

/** Uniform block of every entry point: GEMM sizes, geometry, texture chunk, phase. */
const CONV_UNIFORMS = uniformLayout("Conv", {
  m: "u32",
  n: "u32",
  k: "u32",
  kchunk: "u32",
  batch: "u32",
  c: "u32",
  h: "u32",
  w: "u32",
  o: "u32",
  oh: "u32",
  ow: "u32",
  kh: "u32",
  kw: "u32",
  sh: "u32",
  sw: "u32",
  ph: "u32",
  pw: "u32",
  m0: "u32",
  k0: "u32",
  kend: "u32",
  width: "u32",
  height: "u32",
  pad0: "u32",
  pad1: "u32",
  rkh: "u32",
  rkw: "u32",
  ky0: "u32",
  kx0: "u32",
  rsh: "u32",
  rsw: "u32",
  rh: "u32",
  rw: "u32",
  py: "u32",
  px: "u32",
  zero: "u32",
  pad2: "u32",
});

/** What conv.wgsl must agree with (checked by uniforms_test.ts). */
export const CONV_WGSL: WgslDeclarations = {
  file: "conv.wgsl",
  source: convWgsl,
  uniforms: [CONV_UNIFORMS],
  enums: [CONV_MODE],
};

/**
 * The implementations of the three convs (chosen together, by measuring
 * conv2d): implicit GEMM with workgroup memory, or the same GEMMs with the
 * operands gathered into textures for matmul.wgsl's `main_tex`.
 */
export const CONV_VARIANTS: Readonly<Record<string, true>> = { tiled: true, texture: true };

/** The conv geometry fields of the Conv block. */
interface Geometry {
  batch: number;
  c: number;
  h: number;
  w: number;
  o: number;
  oh: number;
  ow: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
}

/** The fields of the Conv block only `grad_input_phase` and `scatter` read. */
interface Phase {
  rkh?: number;
  rkw?: number;
  ky0?: number;
  kx0?: number;
  rsh?: number;
  rsw?: number;
  rh?: number;
  rw?: number;
  py?: number;
  px?: number;
  zero?: number;
}

/** The geometry of a conv of x (NCHW) to o channels of oh×ow with a kh×kw kernel. */
function convGeometry(
  x: Shape,
  o: number,
  oh: number,
  ow: number,
  kh: number,
  kw: number,
  a: OpAttrs["conv2d"],
): Geometry {
  const [batch, c, h, w] = x;
  const [sh, sw] = a.stride;
  const [ph, pw] = a.padding;
  return { batch, c, h, w, o, oh, ow, kh, kw, sh, sw, ph, pw };
}

/** Records one conv.wgsl implicit GEMM of `mode` with rows m, cols n, depth k. */
function convGemm(
  ctx: GpuContext,
  mode: ConvMode,
  in0: GpuInput,
  in1: GpuInput,
  out: GpuOutput,
  [m, n, k]: [number, number, number],
  geometry: Geometry,
  phase: Phase = {},
): void {
  if (m * n === 0) return;
  const label = LABEL[mode];
  const constants = { MODE: CONV_MODE.codes[mode] };
  if (ctx.variant("conv2d") === "texture" && textureGemmFits(ctx, m, n, k)) {
    const { h, w, oh, ow } = geometry;
    const uniforms = (m0: number, k0: number, kend: number, width: number, height: number) =>
      encodeUniforms(CONV_UNIFORMS, {
        m,
        n,
        k,
        ...geometry,
        m0,
        k0,
        kend,
        width,
        height,
        ...phase,
      });
    textureGemm(ctx, {
      label,
      m,
      n,
      k,
      outMode: "blocked",
      p: mode === "forward" ? oh * ow : mode === "grad_weight" ? m : h * w,
      packA: (dst, m0, k0, kend, width, height) =>
        ctx.dispatch({
          label,
          code: convWgsl,
          entryPoint: "pack_a",
          constants,
          uniforms: uniforms(m0, k0, kend, width, height),
          buffers: [in0.buffer, dst],
          workgroups: [Math.ceil(width / 8), Math.ceil(height / 8)],
        }),
      packB: (dst, k0, kend, width, height) =>
        ctx.dispatch({
          label,
          code: convWgsl,
          entryPoint: "pack_b",
          constants,
          uniforms: uniforms(0, k0, kend, width, height),
          buffers: [in1.buffer, dst],
          bindings: [2, 3],
          workgroups: [Math.ceil(width / 8), Math.ceil(height / 8)],
        }),
    }, out.buffer);
    return;
  }
  const tx = Math.ceil(m / TILE);
  const ty = Math.ceil(n / TILE);
  const tiles = mode === "grad_weight" ? tx * ty : Infinity; // only the weight gradient splits K
  splitGemm(ctx, label, out, m * n, tiles, k, (target, splits, kchunk) => {
    ctx.dispatch({
      label,
      code: convWgsl,
      constants,
      uniforms: encodeUniforms(CONV_UNIFORMS, { m, n, k, kchunk, ...geometry, ...phase }),
      buffers: [in0.buffer, in1.buffer, target],
      workgroups: gemmGrid(label, tx, ty, splits),
    });
  });
}

/** conv2d as an implicit GEMM: M = N·OH·OW, N = O, K = C·kh·kw. */
const conv2d: GpuKernel<OpAttrs["conv2d"]> = (ctx, [x, w], attrs, out) => {
  const [n, c] = x.shape;
  const [o, , kh, kw] = w.shape;
  const [, , oh, ow] = out.shape;
  convGemm(
    ctx,
    "forward",
    x,
    w,
    out,
    [n * oh * ow, o, c * kh * kw],
    convGeometry(x.shape, o, oh, ow, kh, kw, attrs),
  );
};

/**
 * conv2d_grad_input as a transposed-conv GEMM: M = N·H·W, N = C, K = O·kh·kw.
 * A strided conv is split into its sh·sw sub-pixel phases (`grad_input_phase`):
 * each phase's pixels only meet 1/(sh·sw) of the taps, so one stride-1 GEMM
 * per phase over just those taps (then a scatter into place) skips the
 * zeros the single GEMM would multiply.
 */
const conv2dGradInput: GpuKernel<OpAttrs["conv2d_grad_input"]> = (ctx, [dy, w], attrs, out) => {
  const [n, o, oh, ow] = dy.shape;
  const [, c, kh, kw] = w.shape;
  const [h, wd] = attrs.inputHW;
  const [sh, sw] = attrs.stride;
  const [ph, pw] = attrs.padding;
  if (sh > 1 || sw > 1) {
    if (n * c * h * wd === 0) return;
    const scatter = (geometry: Geometry, phase: Phase, part: GPUBuffer) => {
      const g = geometry;
      const [gx, gy] = grid(Math.ceil(g.batch * g.c * g.h * g.w / 64));
      ctx.dispatch({
        label: "conv2d_grad_input",
        code: convWgsl,
        entryPoint: "scatter",
        constants: { MODE: CONV_MODE.codes.grad_input_phase },
        uniforms: encodeUniforms(CONV_UNIFORMS, { ...geometry, ...phase }),
        buffers: [part, out.buffer],
        bindings: [1, 3],
        workgroups: [gx, gy],
      });
    };
    let empty = false;
    for (let py = 0; py < Math.min(sh, h); py++) {
      for (let px = 0; px < Math.min(sw, wd); px++) {
        // Phase rows iy = py + a·sh, taps ky = ky0 + ty·sh, oy = cy + a − ty.
        const hp = Math.ceil((h - py) / sh);
        const wp = Math.ceil((wd - px) / sw);
        const ky0 = (py + ph) % sh;
        const kx0 = (px + pw) % sw;
        const tky = ky0 < kh ? Math.ceil((kh - ky0) / sh) : 0;
        const tkx = kx0 < kw ? Math.ceil((kw - kx0) / sw) : 0;
        if (tky * tkx === 0) {
          empty = true; // zeroed below, with the other empty phases
          continue;
        }
        const cy = (py + ph - ky0) / sh;
        const cx = (px + pw - kx0) / sw;
        const phase: Phase = {
          rkh: kh,
          rkw: kw,
          ky0,
          kx0,
          rsh: sh,
          rsw: sw,
          rh: h,
          rw: wd,
          py,
          px,
        };
        const geometry: Geometry = {
          batch: n,
          c,
          h: hp,
          w: wp,
          o,
          oh,
          ow,
          kh: tky,
          kw: tkx,
          sh: 1,
          sw: 1,
          ph: cy,
          pw: cx,
        };
        const part = ctx.scratch(n * c * hp * wp * 4);
        convGemm(
          ctx,
          "grad_input_phase",
          dy,
          w,
          { buffer: part, shape: [n, c, hp, wp], dtype: "float32" },
          [n * hp * wp, c, o * tky * tkx],
          geometry,
          phase,
        );
        scatter(geometry, phase, part);
      }
    }
    if (empty) {
      const geometry = convGeometry([n, c, h, wd], o, oh, ow, kh, kw, attrs);
      scatter(geometry, { zero: 1 }, dy.buffer);
    }
    return;
  }
  convGemm(
    ctx,
    "grad_input",
    dy,
    w,
    out,
    [n * h * wd, c, o * kh * kw],
    convGeometry([n, c, h, wd], o, oh, ow, kh, kw, attrs),
  );
};

/** conv2d_grad_weight as a GEMM over K = N·OH·OW (split over K): M = C·kh·kw, N = O. */
const conv2dGradWeight: GpuKernel<OpAttrs["conv2d_grad_weight"]> = (ctx, [x, dy], attrs, out) => {
  const [n, c] = x.shape;
  const [, o, oh, ow] = dy.shape;
  const [kh, kw] = attrs.kernel;
  convGemm(
    ctx,
    "grad_weight",
    x,
    dy,
    out,
    [c * kh * kw, o, n * oh * ow],
    convGeometry(x.shape, o, oh, ow, kh, kw, attrs),
  );
};

/** The conv family's WebGPU kernels. */
export const CONV_GPU_KERNELS: {
  [P in "conv2d" | "conv2d_grad_input" | "conv2d_grad_weight"]: GpuKernel<OpAttrs[P]>;
} = {
  conv2d,
  conv2d_grad_input: conv2dGradInput,
  conv2d_grad_weight: conv2dGradWeight,
};
