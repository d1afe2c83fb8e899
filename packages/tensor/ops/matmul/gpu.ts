/**
 * The matmul family's WebGPU kernels (matmul.wgsl), and the GEMM machinery
 * the conv family builds on. Two variants, chosen per adapter by measurement
 * (see `KERNEL_VARIANTS` in backend/webgpu/kernels.ts): a 64×64-tiled GEMM
 * with workgroup memory and 4×4 register tiles (real GPUs), and one reading
 * its operands from rgba32float textures (texel fetches measured ~8× cheaper
 * than storage-buffer loads on the lavapipe software rasteriser, where it is
 * ~15× faster); an untransposed operand whose rows are 256-byte aligned goes
 * into its texture by a plain copy instead of the packing shader. GEMMs with
 * too few output tiles to fill the GPU are split over K.
 *
 * @module
 */
import type { OpAttrs } from "../op_name.ts";
import type { GpuContext, GpuKernel, GpuOutput } from "../../backend/webgpu/context.ts";
import { TILE } from "../../backend/webgpu/launch.ts";
import {
  encodeUniforms,
  uniformLayout,
  type WgslDeclarations,
  type WgslEnum,
  wgslEnum,
} from "../../backend/webgpu/uniforms.ts";
import { reduceInto } from "../reduce/gpu.ts";
import { matmulWgsl } from "./matmul_wgsl.generated.ts";

/** Where main_tex stores C[m, n]: row-major, or column-blocked by `p` (a conv's NCHW output). */
export type TexOut = "row_major" | "blocked";

/** The `Tex.mode` code of each output placement (WGSL `const OUT_<MODE>`). */
const TEX_OUT: WgslEnum<TexOut> = wgslEnum("OUT_", { row_major: 0, blocked: 1 });

/** Uniform block of the tiled `main`. */
const MM_UNIFORMS = uniformLayout("Mm", { m: "u32", n: "u32", k: "u32", kchunk: "u32" });

/** Uniform block of `pack` and `pack4`: a strided [rows, cols] view and the texel rectangle. */
const PACK_UNIFORMS = uniformLayout("Pack", {
  rows: "u32",
  cols: "u32",
  sy: "u32",
  sx: "u32",
  width: "u32",
  height: "u32",
  y0: "u32",
  x0: "u32",
});

/** Uniform block of `main_tex`. */
const TEX_UNIFORMS = uniformLayout("Tex", {
  m: "u32",
  n: "u32",
  kq: "u32",
  m0: "u32",
  rows: "u32",
  p: "u32",
  base: "u32",
  mode: "u32",
});

/** What matmul.wgsl must agree with (checked by uniforms_test.ts). */
export const MATMUL_WGSL: WgslDeclarations = {
  file: "matmul.wgsl",
  source: matmulWgsl,
  uniforms: [MM_UNIFORMS, PACK_UNIFORMS, TEX_UNIFORMS],
  enums: [TEX_OUT],
};

/**
 * How many K slices a GEMM with `tiles` output tiles and reduction length `k`
 * should use: enough workgroups (~128) to fill a large GPU, each slice at
 * least 256 long; 1 when the output alone has enough tiles.
 */
function splitK(tiles: number, k: number): { splits: number; kchunk: number } {
  let splits = 1;
  if (tiles < 64 && k >= 512) {
    splits = Math.max(1, Math.min(Math.ceil(128 / tiles), Math.floor(k / 256)));
  }
  const kchunk = Math.max(16, Math.ceil(k / splits / 16) * 16);
  return { splits: Math.max(1, Math.ceil(k / kchunk)), kchunk };
}

/**
 * Checks a GEMM's workgroup grid fits the per-dimension limit.
 *
 * @param label the op, for the error
 * @param x workgroups along x
 * @param y workgroups along y
 * @param z workgroups along z (split-K slices)
 * @returns the grid
 */
export function gemmGrid(
  label: string,
  x: number,
  y: number,
  z: number,
): [number, number, number] {
  if (x > 65535 || y > 65535 || z > 65535) {
    throw new Error(`Cannot run ${label}: ${x}×${y}×${z} workgroups exceed 65535 per dimension`);
  }
  return [x, y, z];
}

/**
 * Runs a split-K GEMM: `record(target, splits, kchunk)` dispatches into
 * `target` (slices of m·n partials when splits > 1), then the slices are
 * summed into `out`.
 *
 * @param ctx the runtime
 * @param label the op, for GPU errors
 * @param out the GEMM's output
 * @param mn the output's element count
 * @param tiles the output's tile count (Infinity: never split)
 * @param k the reduction length
 * @param record records the GEMM into a target, with its split count and K chunk
 */
export function splitGemm(
  ctx: GpuContext,
  label: string,
  out: GpuOutput,
  mn: number,
  tiles: number,
  k: number,
  record: (target: GPUBuffer, splits: number, kchunk: number) => void,
): void {
  const { splits, kchunk } = splitK(tiles, k);
  if (splits === 1) {
    record(out.buffer, 1, kchunk);
    return;
  }
  const partial = ctx.scratch(splits * mn * 4);
  record(partial, splits, kchunk);
  reduceInto(
    ctx,
    label,
    "sum",
    partial,
    { shape: [mn], strides: [1] },
    { shape: [splits], strides: [mn] },
    out.buffer,
  );
}

/** matmul: tiled GEMM with workgroup memory, transposes handled by the tile loads. */
const matmulTiled: GpuKernel<OpAttrs["matmul"]> = (ctx, [a, b], attrs, out) => {
  const [m, n] = out.shape;
  const k = attrs.transA ? a.shape[0] : a.shape[1];
  if (m * n === 0) return;
  const tx = Math.ceil(n / TILE);
  const ty = Math.ceil(m / TILE);
  splitGemm(ctx, "matmul", out, m * n, tx * ty, k, (target, splits, kchunk) => {
    ctx.dispatch({
      label: "matmul",
      code: matmulWgsl,
      constants: { TRANS_A: attrs.transA ? 1 : 0, TRANS_B: attrs.transB ? 1 : 0 },
      uniforms: encodeUniforms(MM_UNIFORMS, { m, n, k, kchunk }),
      buffers: [a.buffer, b.buffer, target],
      workgroups: gemmGrid("matmul", tx, ty, splits),
    });
  });
};

/** A GEMM for {@link textureGemm}: sizes, output placement and operand packers. */
export interface TextureGemm {
  /** The op, for GPU errors. */
  label: string;
  /** Rows of the output. */
  m: number;
  /** Columns of the output. */
  n: number;
  /** The reduction length. */
  k: number;
  /** main_tex output placement: row-major, or column-blocked by `p` (p = m: transposed). */
  outMode: TexOut;
  /** Block size of the `blocked` placement. */
  p: number;
  /** Packs A rows [m0, m0 + height) × k [k0, kend) into `dst` (width × height texels). */
  packA(dst: GPUTexture, m0: number, k0: number, kend: number, width: number, height: number): void;
  /** Packs B rows k [k0, kend) (height texels, zero past kend) into `dst`. */
  packB(dst: GPUTexture, k0: number, kend: number, width: number, height: number): void;
  /**
   * Fills `dst` with op(a) as it is stored, [K, M] row-major (texel (mq, k)
   * holds 4 rows of one k, zero past M and K), for main_tex to read
   * transposed (A_T). Used instead of `packA` when the GEMM needs no chunks:
   * the transposing pack reads strided addresses, this one contiguous ones.
   */
  storedA?: (dst: GPUTexture) => void;
  /** op(b) as stored, [N, K] (texel (kq, n), zero past K): as `storedA`, for B. */
  storedB?: (dst: GPUTexture) => void;
}

/** `d`, or the next integer that is not a power of two. */
function offPowerOfTwo(d: number): number {
  while ((d & (d - 1)) === 0) d++;
  return d;
}

/**
 * Whether {@link textureGemm} can run an m×n GEMM on this device.
 *
 * @param ctx the runtime (for the device's texture limit)
 * @param m rows of the output
 * @param n columns of the output
 * @param k the reduction length
 * @returns true when the textures fit
 */
export function textureGemmFits(ctx: GpuContext, m: number, n: number, k: number): boolean {
  const max = ctx.device.limits.maxTextureDimension2D;
  return m > 0 && n > 0 && k > 0 && max >= 128 && Math.ceil(n / 4) + 2 <= max &&
    Math.ceil(n / TILE) <= 65535;
}

/**
 * Runs a GEMM through matmul.wgsl's `main_tex`: packs B (per K chunk) and A
 * (per M chunk) into rgba32float scratch textures, then computes each chunk.
 * Chunks keep each texture within maxTextureDimension2D; K chunks write
 * partial slices that are summed afterwards.
 *
 * @param ctx the runtime
 * @param g the GEMM: sizes, output placement, operand packers
 * @param out the output buffer
 */
export function textureGemm(ctx: GpuContext, g: TextureGemm, out: GPUBuffer): void {
  const max = ctx.device.limits.maxTextureDimension2D;
  const kchunk = Math.min(Math.ceil(g.k / 4) * 4, Math.floor(max / 4) * 4);
  const splits = Math.ceil(g.k / kchunk);
  const mchunk = Math.min(g.m, Math.floor(max / 128) * 128);
  const kq = kchunk / 4;
  const nq = Math.ceil(g.n / 4);
  // Texture sizes are kept off powers of two (the extra texels are packed as
  // zeros and never read): drivers that specialise shaders on power-of-two
  // texture sizes, like llvmpipe, then compile main_tex once instead of once
  // per size combination (~2 s each there). Real GPUs are unaffected.
  // Transposed operands are loaded as stored (texel (mq, k) of A, (kq, n) of
  // B) when one texture holds them whole.
  const aT = splits === 1 && mchunk >= g.m && g.k <= max ? g.storedA : undefined;
  const bT = splits === 1 && g.n <= max ? g.storedB : undefined;
  const [aw, ah] = (aT ? [Math.ceil(g.m / 4), g.k] : [kq, mchunk]).map(offPowerOfTwo);
  const [bw, bh] = (bT ? [kq, g.n] : [nq, kchunk]).map(offPowerOfTwo);
  const ta = ctx.scratchTexture(Math.min(aw, max), Math.min(ah, max), "rgba32float");
  const tb = ctx.scratchTexture(Math.min(bw, max), Math.min(bh, max), "rgba32float");
  const mn = g.m * g.n;
  const target = splits > 1 ? ctx.scratch(splits * mn * 4) : out;
  for (let s = 0; s < splits; s++) {
    const k0 = s * kchunk;
    const kend = Math.min(g.k, k0 + kchunk);
    if (bT) {
      bT(tb);
    } else {
      g.packB(tb, k0, kend, tb.width, tb.height);
    }
    for (let m0 = 0; m0 < g.m; m0 += mchunk) {
      const rows = Math.min(mchunk, g.m - m0);
      if (aT) {
        aT(ta);
      } else {
        g.packA(ta, m0, k0, kend, ta.width, ta.height);
      }
      ctx.dispatch({
        label: g.label,
        code: matmulWgsl,
        entryPoint: "main_tex",
        constants: { A_T: aT ? 1 : 0, B_T: bT ? 1 : 0 },
        uniforms: encodeUniforms(TEX_UNIFORMS, {
          m: g.m,
          n: g.n,
          kq,
          m0,
          rows,
          p: g.p,
          base: splits > 1 ? s * mn : 0,
          mode: TEX_OUT.codes[g.outMode],
        }),
        buffers: [ta, tb, target],
        workgroups: [Math.ceil(g.n / TILE), Math.ceil(rows / 128)],
      });
    }
  }
  if (splits > 1) {
    reduceInto(
      ctx,
      g.label,
      "sum",
      target,
      { shape: [mn], strides: [1] },
      { shape: [splits], strides: [mn] },
      out,
    );
  }
}

/**
 * Whether rows of `cols` float32 can go to a texture by a plain copy: whole
 * texels, and a row stride that is a multiple of the 256 bytes copies need.
 * Such an operand needs no packing shader, only texels past the logical end
 * stay stale, and main_tex never stores the products that read them.
 */
function copyable(cols: number): boolean {
  return cols % 64 === 0;
}

/**
 * Packs rows [y0, y0 + height) × columns [x0, x0 + 4·width) of a row-major
 * [rows, cols] view of `src` (element (Y, X) at Y·sy + X·sx) into `dst`, 4
 * columns per texel, zero past `rows` and `cols`. Unit column strides with
 * 16-byte aligned rows take `pack4`, one vector load per texel.
 */
function packTexture(
  ctx: GpuContext,
  src: GPUBuffer,
  dst: GPUTexture,
  view: { rows: number; cols: number; sy: number; sx: number; y0: number; x0: number },
  width: number,
  height: number,
): void {
  const { rows, cols, sy, sx, y0, x0 } = view;
  const vector = sx === 1 && sy % 4 === 0 && x0 % 4 === 0;
  ctx.dispatch({
    label: "matmul",
    code: matmulWgsl,
    entryPoint: vector ? "pack4" : "pack",
    uniforms: encodeUniforms(PACK_UNIFORMS, { rows, cols, sy, sx, width, height, y0, x0 }),
    buffers: [src, dst],
    workgroups: [Math.ceil(width / 8), Math.ceil(height / 8)],
  });
}

/**
 * Loads a whole row-major [rows, cols] buffer into `dst` as it is: a plain
 * copy where rows fill whole copy rows (texels past the end stay stale, which
 * callers allow only where main_tex never stores their products), else
 * {@link packTexture}.
 */
function loadTexture(
  ctx: GpuContext,
  src: GPUBuffer,
  dst: GPUTexture,
  rows: number,
  cols: number,
  rowsMayBeStale: boolean,
): void {
  if (copyable(cols) && (rowsMayBeStale || rows % 4 === 0)) {
    ctx.copyToTexture(src, dst, {
      offset: 0,
      bytesPerRow: cols * 4,
      width: cols / 4,
      height: rows,
    });
  } else {
    const view = { rows, cols, sy: cols, sx: 1, y0: 0, x0: 0 };
    packTexture(ctx, src, dst, view, dst.width, dst.height);
  }
}

/**
 * matmul reading its operands from rgba32float textures (4 elements per
 * texel), each loaded by a plain texture copy where its rows are aligned (on
 * lavapipe 4–15× cheaper than a packing shader), else packed. Transposed
 * operands are loaded as stored and main_tex transposes in registers. Much
 * faster where texel fetches beat buffer loads (software adapters).
 */
const matmulTexture: GpuKernel<OpAttrs["matmul"]> = (ctx, [a, b], attrs, out) => {
  const [m, n] = out.shape;
  const k = attrs.transA ? a.shape[0] : a.shape[1];
  textureGemm(ctx, {
    label: "matmul",
    m,
    n,
    k,
    outMode: "row_major",
    p: 1,
    // A stored [K, M]: rows past K feed stored products, so they must be zero.
    storedA: attrs.transA ? (dst) => loadTexture(ctx, a.buffer, dst, k, m, false) : undefined,
    // B stored [N, K]: rows past N feed only products that are never stored.
    storedB: attrs.transB ? (dst) => loadTexture(ctx, b.buffer, dst, n, k, true) : undefined,
    packA: (dst, m0, k0, kend, width, height) =>
      // Row-major A whose rows fill whole copy rows needs no shader: copy it.
      !attrs.transA && k0 === 0 && kend === k && copyable(k)
        ? ctx.copyToTexture(a.buffer, dst, {
          offset: m0 * k * 4,
          bytesPerRow: k * 4,
          width: k / 4,
          height: Math.min(height, m - m0),
        })
        : packTexture(
          ctx,
          a.buffer,
          dst,
          {
            rows: m,
            cols: kend,
            sy: attrs.transA ? 1 : k,
            sx: attrs.transA ? m : 1,
            y0: m0,
            x0: k0,
          },
          width,
          height,
        ),
    packB: (dst, k0, kend, width, height) =>
      // Row-major B whole: copied or packed as stored, rows past K zero.
      !attrs.transB && k0 === 0 && kend === k
        ? loadTexture(ctx, b.buffer, dst, k, n, false)
        : packTexture(
          ctx,
          b.buffer,
          dst,
          {
            rows: kend,
            cols: n,
            sy: attrs.transB ? 1 : n,
            sx: attrs.transB ? k : 1,
            y0: k0,
            x0: 0,
          },
          width,
          height,
        ),
  }, out.buffer);
};

/** The implementations of matmul, by variant name (the first is the default). */
export const MATMUL_VARIANTS: Readonly<Record<string, GpuKernel<OpAttrs["matmul"]>>> = {
  tiled: matmulTiled,
  texture: matmulTexture,
};

/** matmul: the variant chosen for this adapter, when it fits, else the tiled one. */
const matmul: GpuKernel<OpAttrs["matmul"]> = (ctx, inputs, attrs, out) => {
  const [m, n] = out.shape;
  const k = attrs.transA ? inputs[0].shape[0] : inputs[0].shape[1];
  const kernel = ctx.variant("matmul") === "texture" && textureGemmFits(ctx, m, n, k)
    ? matmulTexture
    : matmulTiled;
  kernel(ctx, inputs, attrs, out);
};

/** The matmul family's WebGPU kernels. */
export const MATMUL_GPU_KERNELS: { [P in "matmul"]: GpuKernel<OpAttrs[P]> } = { matmul };
