/**
 * The conv family's wasm kernels (`conv.c`, with the GEMM of
 * `ops/matmul/matmul.c`): conv2d and its weight gradient are implicit GEMMs
 * over the batch (B's panels packed straight from the NCHW input); the input
 * gradient is, at stride 1 with enough channels, the forward convolution of
 * dY with the flipped, transposed kernel, else Wᵀ·dY' scattered back into the
 * image (col2im).
 *
 * @module
 */
import {
  type CDeclarations,
  cEnum,
  type WasmEntry,
  type WasmRuntime,
} from "../../backend/wasm/kernel.ts";
import { type Shape, sizeOf } from "../../shape.ts";
import { gemm, PARALLEL_MACS } from "../matmul/wasm.ts";
import type { ConvOpAttrs } from "./primitives.ts";

/** conv.c's `enum conv_gemm`: which of conv2d's GEMMs `conv_gemm` runs. */
export const CONV_GEMM = cEnum("conv_gemm", { forward: 0, grad_weight: 1 });

/** What conv.c must agree with (checked by backend/wasm/c_enums_test.ts). */
export const CONV_C: CDeclarations = {
  file: new URL("./conv.c", import.meta.url),
  enums: [CONV_GEMM],
};

/**
 * Input channels from which a stride-1 input gradient runs as the forward
 * convolution of dY (its GEMM has C rows): measured at ResNet-18's shapes
 * (b32), 64–256 channels take 0.79–0.83× the time of GEMM + col2im, 512 on
 * 4×4 about the same, and the 3-channel stem 3.3× as long (its rows fill
 * half of a 6-row tile).
 */
const TRANSPOSED_MIN_CHANNELS = 16;
/** Below this many floats moved, col2im and permutes run on one thread. */
const PARALLEL_FLOATS = 1 << 16;

/** A convolution's geometry: the input [N, C, H, W], kernel kh×kw, stride, padding, output OH×OW. */
interface Geometry {
  n: number;
  c: number;
  h: number;
  w: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
  oh: number;
  ow: number;
}

function geometry(
  [n, c, h, w]: Shape,
  [kh, kw]: readonly number[],
  [, , oh, ow]: Shape,
  [sh, sw]: readonly number[],
  [ph, pw]: readonly number[],
): Geometry {
  return { n, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow };
}

/** C, H, W, kh, kw, sh, sw, ph, pw, OH, OW: the C kernels' geometry arguments, in their order. */
function geometryArgs(g: Geometry): number[] {
  return [g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.oh, g.ow];
}

/** One of conv.c's implicit GEMMs over the batch: `a` times the patch matrix of `x` (or its transpose). */
function convGemm(
  rt: WasmRuntime,
  mode: keyof typeof CONV_GEMM.codes,
  { a, x, out, rows }: { a: number; x: number; out: number; rows: number },
  g: Geometry,
): void {
  const macs = rows * g.n * g.oh * g.ow * g.c * g.kh * g.kw;
  const args = [CONV_GEMM.codes[mode], a, x, out, rows, g.n, ...geometryArgs(g)];
  rt.tasks("conv_gemm", args, macs >= PARALLEL_MACS);
}

/** [a][b][p] → [b][a][p] from `src` to `dst` (NCHW ↔ the GEMMs' channel-major). */
function swapOuter(rt: WasmRuntime, src: number, [a, b, p]: number[], dst: number): void {
  rt.tasks("swap_outer", [src, a, b, p, dst], a * b * p >= PARALLEL_FLOATS);
}

/** The images `x` as the sums of the patch matrix `col` over the taps that read each cell. */
function col2im(rt: WasmRuntime, x: number, col: number, g: Geometry): void {
  const big = g.n > 1 && g.n * g.c * g.kh * g.kw * g.oh * g.ow >= PARALLEL_FLOATS;
  rt.tasks("col2im", [x, g.n, ...geometryArgs(g), col], big);
}

/** The wasm entry of each convolution primitive. */
export const CONV_WASM: { [P in keyof ConvOpAttrs]: WasmEntry<ConvOpAttrs[P]> } = {
  conv2d: (rt, [x, w], { stride, padding }, out) => {
    const g = geometry(x.shape, w.shape.slice(2), out.shape, stride, padding);
    const o = w.shape[0];
    const p = g.oh * g.ow;
    const y = rt.scratch(4 * o * g.n * p);
    convGemm(rt, "forward", { a: w.storage.ptr, x: x.storage.ptr, out: y, rows: o }, g);
    swapOuter(rt, y, [o, g.n, p], out.ptr);
  },
  conv2d_grad_input: (rt, [dy, w], { stride, padding }, out) => {
    const g = geometry(out.shape, w.shape.slice(2), dy.shape, stride, padding);
    const [o, c, kh, kw] = w.shape;
    const p = g.oh * g.ow;
    if (g.sh === 1 && g.sw === 1 && g.ph < kh && g.pw < kw && c >= TRANSPOSED_MIN_CHANNELS) {
      // At stride 1, dX is dY convolved with the flipped, transposed kernel
      // (padding k − 1 − p): the forward's implicit GEMM, no patch matrix.
      const flipped = rt.scratch(4 * sizeOf(w.shape));
      rt.exports.flip_kernel(w.storage.ptr, o, c, kh, kw, flipped);
      const hw = g.h * g.w;
      const y = rt.scratch(4 * c * g.n * hw);
      const transposed: Geometry = {
        ...g,
        c: o,
        h: g.oh,
        w: g.ow,
        ph: kh - 1 - g.ph,
        pw: kw - 1 - g.pw,
        oh: g.h,
        ow: g.w,
      };
      convGemm(rt, "forward", { a: flipped, x: dy.storage.ptr, out: y, rows: c }, transposed);
      return void swapOuter(rt, y, [c, g.n, hw], out.ptr);
    }
    const np = g.n * p;
    const dyc = rt.scratch(4 * o * np);
    swapOuter(rt, dy.storage.ptr, [g.n, o, p], dyc);
    const k = c * kh * kw;
    const dcol = rt.scratch(4 * k * np);
    gemm(rt, { a: w.storage.ptr, b: dyc, c: dcol, m: k, n: np, k: o, transA: true });
    const direct = kh === 1 && kw === 1 && g.sh === 1 && g.sw === 1 && g.ph === 0 && g.pw === 0;
    // A 1×1, stride-1, unpadded convolution's patch matrix is the image, channel-major.
    if (direct) return void swapOuter(rt, dcol, [c, g.n, p], out.ptr);
    col2im(rt, out.ptr, dcol, g);
  },
  conv2d_grad_weight: (rt, [x, dy], { stride, padding, kernel }, out) => {
    const o = dy.shape[1];
    const g = geometry(x.shape, kernel, dy.shape, stride, padding);
    const np = g.n * g.oh * g.ow;
    const dyc = rt.scratch(4 * o * np);
    swapOuter(rt, dy.storage.ptr, [g.n, o, g.oh * g.ow], dyc);
    convGemm(rt, "grad_weight", { a: dyc, x: x.storage.ptr, out: out.ptr, rows: o }, g);
  },
};
