/**
 * The WGSL kernel of every primitive op. Each entry turns an op call into one
 * or a few dispatches of the shaders in `kernels/*.wgsl` (one file per family,
 * each naming its bindings in a header comment). Shaders are specialised with
 * `override` constants (op selectors, transposes, modes) and read shapes and
 * strides from a uniform block, so the source text is fixed and each pipeline
 * is compiled once per process.
 *
 * Strategies, in brief:
 * - elementwise: a thread per 4 elements when no broadcasting is needed, else
 *   a thread per element reading both operands through broadcast strides
 *   (adjacent dims merged first, so `[N,C,H,W] + [1,C,1,1]` decodes 3 dims).
 * - reductions: a workgroup per output with a shared-memory tree, split over
 *   several workgroups (and a second pass) when there are few outputs, or a
 *   thread per output for short reductions.
 * - matmul and conv: 64×64-tiled GEMMs with 4×4 register tiles; the convs are
 *   implicit GEMMs (im2col gathered on the fly), split over K when the output
 *   has too few tiles to fill the GPU.
 *
 * Variants: where more than one implementation of an op makes sense, the table
 * entry is a small selector that asks {@link GpuContext.variant} which one the
 * runtime measured fastest on this adapter ({@link KERNEL_VARIANTS} lists
 * them with their measuring call). matmul has two: the workgroup-memory tiled
 * GEMM (for real GPUs) and one reading its operands from rgba32float textures
 * (texel fetches measured ~8× cheaper than storage-buffer loads on the
 * lavapipe software rasteriser, where it is ~15× faster); an untransposed
 * operand whose rows are 256-byte aligned goes into its texture by a plain
 * copy instead of the packing shader. The convs have a texture variant too
 * (gathering im2col into a texture).
 * - batch norm (norm.wgsl): per-channel statistics and gradient sums in one
 *   workgroup-per-channel pass, then one elementwise pass.
 * - AGD (optim.wgsl): the slice norms of all gradients packed into one
 *   vector, η from it, and one update pass per weight reading η on the GPU.
 *
 * @module
 */
import type { OpAttrs, OpName } from "../../op_name.ts";
import { broadcastStrides, normalizeAxes, type Shape, sizeOf, stridesOf } from "../../shape.ts";
import {
  type GpuContext,
  type GpuInput,
  type GpuKernel,
  type GpuKernelTable,
  type GpuOutput,
  grid,
} from "./context.ts";
import elementwiseWgsl from "./kernels/elementwise.wgsl" with { type: "text" };
import reduceWgsl from "./kernels/reduce.wgsl" with { type: "text" };
import miscWgsl from "./kernels/misc.wgsl" with { type: "text" };
import matmulWgsl from "./kernels/matmul.wgsl" with { type: "text" };
import convWgsl from "./kernels/conv.wgsl" with { type: "text" };
import poolWgsl from "./kernels/pool.wgsl" with { type: "text" };
import optimWgsl from "./kernels/optim.wgsl" with { type: "text" };
import normWgsl from "./kernels/norm.wgsl" with { type: "text" };
import lossWgsl from "./kernels/loss.wgsl" with { type: "text" };

/** The WGSL sources, by family (for tools and tests). */
export const WGSL_SOURCES: Readonly<Record<string, string>> = {
  elementwise: elementwiseWgsl,
  reduce: reduceWgsl,
  misc: miscWgsl,
  matmul: matmulWgsl,
  conv: convWgsl,
  pool: poolWgsl,
  optim: optimWgsl,
  norm: normWgsl,
};

/** Threads per workgroup of the 1-D kernels (elementwise, reduce, pool, misc). */
const WG = 256;
/** Output tile edge of the GEMM kernels (matmul.wgsl, conv.wgsl). */
const TILE = 64;
/** Most dims a strided uniform block holds (2 × vec4). */
const MAX_DIMS = 8;

// ---------------------------------------------------------------------------
// Uniform packing

/**
 * A uniform block: `ints` as 32-bit words (u32 or i32, both written through
 * an Int32Array), then `floats`, padded to 16 bytes.
 */
function pack(ints: readonly number[], floats: readonly number[] = []): ArrayBuffer {
  const words = Math.max(4, Math.ceil((ints.length + floats.length) / 4) * 4);
  const buf = new ArrayBuffer(words * 4);
  new Int32Array(buf, 0, ints.length).set(ints);
  new Float32Array(buf, ints.length * 4, floats.length).set(floats);
  return buf;
}

/** `values` padded with zeros to MAX_DIMS entries (a `array<vec4<u32>, 2>`). */
function dims(values: readonly number[]): number[] {
  if (values.length > MAX_DIMS) {
    throw new Error(`WebGPU kernels support at most ${MAX_DIMS} dims, got ${values.length}`);
  }
  const out = values.slice();
  while (out.length < MAX_DIMS) out.push(0);
  return out;
}

/** Workgroup counts for a 1-D kernel of `threads` threads, and the x count. */
function threads1d(threads: number): { workgroups: [number, number]; nx: number } {
  const workgroups = grid(Math.ceil(threads / WG));
  return { workgroups, nx: workgroups[0] };
}

/**
 * Drops size-1 dims and merges neighbours that every operand walks
 * contiguously (stride[i−1] = stride[i]·shape[i] for each strides array), so
 * the shader decodes as few dims as possible.
 */
function collapse(
  shape: Shape,
  strides: readonly (readonly number[])[],
): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    const last = outShape.length - 1;
    if (
      last >= 0 &&
      strides.every((s, t) => outStrides[t][last] === s[i] * shape[i])
    ) {
      outShape[last] *= shape[i];
      strides.forEach((s, t) => (outStrides[t][last] = s[i]));
    } else {
      outShape.push(shape[i]);
      strides.forEach((s, t) => outStrides[t].push(s[i]));
    }
  }
  return { shape: outShape, strides: outStrides };
}

// ---------------------------------------------------------------------------
// Elementwise

const UNARY_CODE = {
  neg: 0,
  exp: 1,
  log: 2,
  sqrt: 3,
  relu: 4,
  step: 5,
  nan_to_num: 6,
  affine: 7,
  scaled_relu: 8,
} as const;

const BINARY_CODE = { add: 0, sub: 1, mul: 2, div: 3, eq: 4, relu_grad: 5 } as const;

/** A unary kernel: a thread per 4 elements (buffers are padded to 16 bytes). */
function unary<P extends keyof typeof UNARY_CODE>(op: P): GpuKernel<P> {
  return (ctx, [x], attrs, out) => {
    const n4 = Math.ceil(sizeOf(out.shape) / 4);
    if (n4 === 0) return;
    const { workgroups, nx } = threads1d(n4);
    const a = attrs as Partial<OpAttrs["affine"] & OpAttrs["scaled_relu"]>;
    ctx.dispatch({
      label: op,
      code: elementwiseWgsl,
      entryPoint: "unary4",
      constants: { OP: UNARY_CODE[op], WG },
      uniforms: pack([n4, nx], [a.mul ?? a.scale ?? 1, a.add ?? 0]),
      buffers: [x.buffer, out.buffer],
      workgroups,
    });
  };
}

/**
 * A binary kernel: same-shape operands run 4 elements per thread; otherwise a
 * thread per element reads both through broadcast strides.
 */
function binary<P extends keyof typeof BINARY_CODE>(op: P): GpuKernel<P> {
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
        constants: { OP: BINARY_CODE[op], WG },
        uniforms: pack([n4, nx], [scale, 0]),
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
      constants: { OP: BINARY_CODE[op], WG },
      uniforms: pack([
        size,
        nx,
        c.shape.length,
        0,
        ...dims(c.shape),
        ...dims(c.strides[0]),
        ...dims(c.strides[1]),
      ]),
      buffers: [a.buffer, b.buffer, out.buffer],
      workgroups,
    });
  };
}

// ---------------------------------------------------------------------------
// Reductions

/** A strided view: dim sizes and strides in elements. */
interface Dims {
  shape: number[];
  strides: number[];
}

/**
 * Records the reduction of `input` into `out`: output element o (decoded over
 * `kept`) combines the `reduced` elements. Chooses a thread per output for
 * short or column-wise reductions, else a workgroup per output, split over
 * several workgroups plus a second pass when the outputs are too few.
 */
function reduceInto(
  ctx: GpuContext,
  label: string,
  op: 0 | 1,
  input: GPUBuffer,
  kept: Dims,
  reduced: Dims,
  out: GPUBuffer,
): void {
  if (reduced.shape.length === 0) reduced = { shape: [1], strides: [0] };
  const outputs = sizeOf(kept.shape);
  const count = sizeOf(reduced.shape);
  if (outputs === 0) return;
  const columnWise = kept.strides[kept.strides.length - 1] === 1;
  const head = (splits: number, chunk: number, nx: number) => [
    outputs,
    count,
    splits,
    chunk,
    nx,
    kept.shape.length,
    reduced.shape.length,
    0,
    ...dims(kept.shape),
    ...dims(kept.strides),
    ...dims(reduced.shape),
    ...dims(reduced.strides),
  ];
  if (count <= 32 || (columnWise && outputs >= 1024 && count <= 8192)) {
    const { workgroups, nx } = threads1d(outputs);
    ctx.dispatch({
      label,
      code: reduceWgsl,
      entryPoint: "cols",
      constants: { OP: op, WG },
      uniforms: pack(head(1, count, nx)),
      buffers: [input, out],
      workgroups,
    });
    return;
  }
  // Enough workgroups to fill a large GPU, but each with a few thousand elements.
  const splits = Math.max(1, Math.min(Math.ceil(1024 / outputs), Math.floor(count / 4096)));
  const chunk = Math.ceil(count / splits);
  const target = splits > 1 ? ctx.scratch(outputs * splits * 4) : out;
  const workgroups = grid(outputs * splits);
  ctx.dispatch({
    label,
    code: reduceWgsl,
    entryPoint: "rows",
    constants: { OP: op, WG },
    uniforms: pack(head(splits, chunk, workgroups[0])),
    buffers: [input, target],
    workgroups,
  });
  if (splits > 1) {
    reduceInto(
      ctx,
      label,
      op,
      target,
      { shape: [outputs], strides: [splits] },
      { shape: [splits], strides: [1] },
      out,
    );
  }
}

/** sum or max over `attrs.axes` (keep-dims). */
function reduction<P extends "sum" | "max">(op: P): GpuKernel<P> {
  return (ctx, [x], attrs, out) => {
    const axes = normalizeAxes(attrs.axes, x.shape.length);
    const strides = stridesOf(x.shape);
    const kept: Dims = { shape: [], strides: [] };
    const reduced: Dims = { shape: [], strides: [] };
    let previous: Dims | undefined;
    for (let i = 0; i < x.shape.length; i++) {
      if (x.shape[i] === 1) continue;
      const d = axes.includes(i) ? reduced : kept;
      // Neighbouring dims of the same kind merge (row-major: always contiguous).
      if (d === previous) {
        d.shape[d.shape.length - 1] *= x.shape[i];
        d.strides[d.strides.length - 1] = strides[i];
      } else {
        d.shape.push(x.shape[i]);
        d.strides.push(strides[i]);
      }
      previous = d;
    }
    reduceInto(
      ctx,
      op,
      op === "sum" ? 0 : 1,
      x.buffer,
      kept,
      reduced,
      out.buffer,
    );
  };
}

/** argmax along the last axis: a thread per row, the first max wins. */
const argmax: GpuKernel<"argmax"> = (ctx, [x], _attrs, out) => {
  const rows = sizeOf(out.shape);
  if (rows === 0) return;
  const c = x.shape[x.shape.length - 1];
  const { workgroups, nx } = threads1d(rows);
  ctx.dispatch({
    label: "argmax",
    code: reduceWgsl,
    entryPoint: "argmax",
    constants: { OP: 1, WG },
    uniforms: pack([rows, c, nx, 0]),
    buffers: [x.buffer, out.buffer],
    workgroups,
  });
};

// ---------------------------------------------------------------------------
// Data movement

/** numpy broadcast copy of 32-bit words (float32 or int32). */
const expand: GpuKernel<"expand"> = (ctx, [x], _attrs, out) => {
  const size = sizeOf(out.shape);
  if (size === 0) return;
  const c = collapse(out.shape, [broadcastStrides(x.shape, out.shape), stridesOf(out.shape)]);
  const { workgroups, nx } = threads1d(size);
  ctx.dispatch({
    label: "expand",
    code: miscWgsl,
    entryPoint: "expand",
    constants: { WG },
    uniforms: pack([size, nx, c.shape.length, 0, ...dims(c.shape), ...dims(c.strides[0])]),
    buffers: [x.buffer, out.buffer],
    workgroups,
  });
};

/** [N] labels → [N, classes] rows with `value` at the label. */
const oneHot: GpuKernel<"one_hot"> = (ctx, [labels], attrs, out) => {
  const size = sizeOf(out.shape);
  if (size === 0) return;
  const { workgroups, nx } = threads1d(size);
  ctx.dispatch({
    label: "one_hot",
    code: miscWgsl,
    entryPoint: "one_hot",
    constants: { WG },
    uniforms: pack([size, nx, attrs.classes], [attrs.value]),
    buffers: [labels.buffer, out.buffer],
    workgroups,
  });
};

/** The square loss: one workgroup reduces all N·C terms. */
const mseLoss: GpuKernel<"mse_loss"> = (ctx, [x, labels], attrs, out) => {
  ctx.dispatch({
    label: "mse_loss",
    code: lossWgsl,
    entryPoint: "mse_loss",
    constants: { WG },
    uniforms: pack([sizeOf(x.shape), 0, x.shape[1]], [attrs.value]),
    buffers: [x.buffer, labels.buffer, out.buffer],
    workgroups: [1],
  });
};

/** The square loss's gradient, a thread per element. */
const mseLossGrad: GpuKernel<"mse_loss_grad"> = (ctx, [dy, x, labels], attrs, out) => {
  const size = sizeOf(out.shape);
  if (size === 0) return;
  const { workgroups, nx } = threads1d(size);
  ctx.dispatch({
    label: "mse_loss_grad",
    code: lossWgsl,
    entryPoint: "mse_loss_grad",
    constants: { WG },
    uniforms: pack([size, nx, x.shape[1]], [attrs.value]),
    buffers: [dy.buffer, x.buffer, labels.buffer, out.buffer],
    workgroups,
  });
};

// ---------------------------------------------------------------------------
// GEMMs

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

/** Checks a GEMM's workgroup grid fits the per-dimension limit. */
function gemmGrid(label: string, x: number, y: number, z: number): [number, number, number] {
  if (x > 65535 || y > 65535 || z > 65535) {
    throw new Error(`Cannot run ${label}: ${x}×${y}×${z} workgroups exceed 65535 per dimension`);
  }
  return [x, y, z];
}

/**
 * Runs a split-K GEMM: `record(target, splits, kchunk)` dispatches into
 * `target` (slices of m·n partials when splits > 1), then the slices are
 * summed into `out`.
 */
function splitGemm(
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
    0,
    partial,
    { shape: [mn], strides: [1] },
    { shape: [splits], strides: [mn] },
    out.buffer,
  );
}

/** matmul: tiled GEMM with workgroup memory, transposes handled by the tile loads. */
const matmulTiled: GpuKernel<"matmul"> = (ctx, [a, b], attrs, out) => {
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
      uniforms: pack([m, n, k, kchunk]),
      buffers: [a.buffer, b.buffer, target],
      workgroups: gemmGrid("matmul", tx, ty, splits),
    });
  });
};

/** A GEMM for {@link textureGemm}: sizes, output placement and operand packers. */
interface TextureGemm {
  label: string;
  m: number;
  n: number;
  k: number;
  /** main_tex output mode: 0 row-major, 1 column-blocked by `p` (p = m: transposed). */
  outMode: 0 | 1;
  /** Block size of output mode 1. */
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

/** Whether {@link textureGemm} can run an m×n GEMM on this device. */
function textureGemmFits(ctx: GpuContext, m: number, n: number, k: number): boolean {
  const max = ctx.device.limits.maxTextureDimension2D;
  return m > 0 && n > 0 && k > 0 && max >= 128 && Math.ceil(n / 4) + 2 <= max &&
    Math.ceil(n / TILE) <= 65535;
}

/**
 * Runs a GEMM through matmul.wgsl's `main_tex`: packs B (per K chunk) and A
 * (per M chunk) into rgba32float scratch textures, then computes each chunk.
 * Chunks keep each texture within maxTextureDimension2D; K chunks write
 * partial slices that are summed afterwards.
 */
function textureGemm(ctx: GpuContext, g: TextureGemm, out: GPUBuffer): void {
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
        uniforms: pack([g.m, g.n, kq, m0, rows, g.p, splits > 1 ? s * mn : 0, g.outMode]),
        buffers: [ta, tb, target],
        workgroups: [Math.ceil(g.n / TILE), Math.ceil(rows / 128)],
      });
    }
  }
  if (splits > 1) {
    reduceInto(
      ctx,
      g.label,
      0,
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
    uniforms: pack([rows, cols, sy, sx, width, height, y0, x0]),
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
const matmulTexture: GpuKernel<"matmul"> = (ctx, [a, b], attrs, out) => {
  const [m, n] = out.shape;
  const k = attrs.transA ? a.shape[0] : a.shape[1];
  textureGemm(ctx, {
    label: "matmul",
    m,
    n,
    k,
    outMode: 0,
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
export const MATMUL_VARIANTS: Readonly<Record<string, GpuKernel<"matmul">>> = {
  tiled: matmulTiled,
  texture: matmulTexture,
};

/** matmul: the variant chosen for this adapter, when it fits, else the tiled one. */
const matmul: GpuKernel<"matmul"> = (ctx, inputs, attrs, out) => {
  const [m, n] = out.shape;
  const k = attrs.transA ? inputs[0].shape[0] : inputs[0].shape[1];
  const kernel = ctx.variant("matmul") === "texture" && textureGemmFits(ctx, m, n, k)
    ? matmulTexture
    : matmulTiled;
  kernel(ctx, inputs, attrs, out);
};

/**
 * The implementations of the three convs (chosen together, by measuring
 * conv2d): implicit GEMM with workgroup memory, or the same GEMMs with the
 * operands gathered into textures for matmul.wgsl's `main_tex`.
 */
export const CONV_VARIANTS: Readonly<Record<string, true>> = { tiled: true, texture: true };

/** A kernel with several implementations, and the call that measures them. */
export interface VariantSet {
  /** The op. */
  op: OpName;
  /** Variant names; the first is the default. */
  variants: readonly string[];
  /** Input shapes of the measuring call (random float32 data). */
  shapes: Shape[];
  /** Attributes of the measuring call. */
  attrs: OpAttrs[OpName];
}

/**
 * The ops with variants, measured once per adapter when a backend is created.
 * The probe is large enough to be compute-bound on a fast GPU and still quick
 * on a software one.
 */
export const KERNEL_VARIANTS: readonly VariantSet[] = [
  {
    op: "matmul",
    variants: Object.keys(MATMUL_VARIANTS),
    shapes: [[512, 512], [512, 512]],
    attrs: { transA: false, transB: false },
  },
  {
    // The choice applies to conv2d_grad_input and conv2d_grad_weight too.
    op: "conv2d",
    variants: Object.keys(CONV_VARIANTS),
    shapes: [[8, 32, 16, 16], [32, 32, 3, 3]],
    attrs: { stride: [1, 1], padding: [1, 1] },
  },
];

/** The geometry words of the Conv uniform block (after m, n, k, kchunk). */
function convGeometry(
  x: Shape,
  o: number,
  oh: number,
  ow: number,
  kh: number,
  kw: number,
  a: OpAttrs["conv2d"],
): number[] {
  const [n, c, h, w] = x;
  return [n, c, h, w, o, oh, ow, kh, kw, a.stride[0], a.stride[1], a.padding[0], a.padding[1]];
}

/** Words of the Conv uniform block that only mode 3 and `scatter` read. */
const NO_PHASE: readonly number[] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/** Records one conv.wgsl implicit GEMM of `mode` with rows m, cols n, depth k. */
function convGemm(
  ctx: GpuContext,
  label: string,
  mode: 0 | 1 | 2 | 3,
  in0: GpuInput,
  in1: GpuInput,
  out: GpuOutput,
  mnk: [number, number, number],
  geometry: number[],
  phase: readonly number[] = NO_PHASE,
): void {
  const [m, n, k] = mnk;
  if (m * n === 0) return;
  if (ctx.variant("conv2d") === "texture" && textureGemmFits(ctx, m, n, k)) {
    const [, , h, w, , oh, ow] = geometry;
    const uniforms = (m0: number, k0: number, kend: number, width: number, height: number) =>
      pack([m, n, k, 0, ...geometry, m0, k0, kend, width, height, 0, 0, ...phase]);
    textureGemm(ctx, {
      label,
      m,
      n,
      k,
      outMode: 1,
      p: mode === 0 ? oh * ow : mode === 2 ? m : h * w,
      packA: (dst, m0, k0, kend, width, height) =>
        ctx.dispatch({
          label,
          code: convWgsl,
          entryPoint: "pack_a",
          constants: { MODE: mode },
          uniforms: uniforms(m0, k0, kend, width, height),
          buffers: [in0.buffer, dst],
          workgroups: [Math.ceil(width / 8), Math.ceil(height / 8)],
        }),
      packB: (dst, k0, kend, width, height) =>
        ctx.dispatch({
          label,
          code: convWgsl,
          entryPoint: "pack_b",
          constants: { MODE: mode },
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
  const tiles = mode === 2 ? tx * ty : Infinity; // only the weight gradient splits K
  splitGemm(ctx, label, out, m * n, tiles, k, (target, splits, kchunk) => {
    ctx.dispatch({
      label,
      code: convWgsl,
      constants: { MODE: mode },
      uniforms: pack([m, n, k, kchunk, ...geometry, 0, 0, 0, 0, 0, 0, 0, ...phase]),
      buffers: [in0.buffer, in1.buffer, target],
      workgroups: gemmGrid(label, tx, ty, splits),
    });
  });
}

/** conv2d as an implicit GEMM: M = N·OH·OW, N = O, K = C·kh·kw. */
const conv2d: GpuKernel<"conv2d"> = (ctx, [x, w], attrs, out) => {
  const [n, c] = x.shape;
  const [o, , kh, kw] = w.shape;
  const [, , oh, ow] = out.shape;
  convGemm(
    ctx,
    "conv2d",
    0,
    x,
    w,
    out,
    [n * oh * ow, o, c * kh * kw],
    convGeometry(x.shape, o, oh, ow, kh, kw, attrs),
  );
};

/**
 * conv2d_grad_input as a transposed-conv GEMM: M = N·H·W, N = C, K = O·kh·kw.
 * A strided conv is split into its sh·sw sub-pixel phases (conv.wgsl mode 3):
 * each phase's pixels only meet 1/(sh·sw) of the taps, so one stride-1 GEMM
 * per phase over just those taps (then a scatter into place) skips the
 * zeros the single GEMM would multiply.
 */
const conv2dGradInput: GpuKernel<"conv2d_grad_input"> = (ctx, [dy, w], attrs, out) => {
  const [n, o, oh, ow] = dy.shape;
  const [, c, kh, kw] = w.shape;
  const [h, wd] = attrs.inputHW;
  const [sh, sw] = attrs.stride;
  const [ph, pw] = attrs.padding;
  if (sh > 1 || sw > 1) {
    if (n * c * h * wd === 0) return;
    const scatter = (geometry: number[], phase: readonly number[], part: GPUBuffer) => {
      const [gx, gy] = grid(Math.ceil(geometry[0] * geometry[1] * geometry[2] * geometry[3] / 64));
      ctx.dispatch({
        label: "conv2d_grad_input",
        code: convWgsl,
        entryPoint: "scatter",
        constants: { MODE: 3 },
        uniforms: pack([0, 0, 0, 0, ...geometry, 0, 0, 0, 0, 0, 0, 0, ...phase]),
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
        const phase = [kh, kw, ky0, kx0, sh, sw, h, wd, py, px, 0, 0];
        const geometry = [n, c, hp, wp, o, oh, ow, tky, tkx, 1, 1, cy, cx];
        const part = ctx.scratch(n * c * hp * wp * 4);
        convGemm(
          ctx,
          "conv2d_grad_input",
          3,
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
      scatter(geometry, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0], dy.buffer);
    }
    return;
  }
  convGemm(
    ctx,
    "conv2d_grad_input",
    1,
    dy,
    w,
    out,
    [n * h * wd, c, o * kh * kw],
    convGeometry([n, c, h, wd], o, oh, ow, kh, kw, attrs),
  );
};

/** conv2d_grad_weight as a GEMM over K = N·OH·OW (split over K): M = C·kh·kw, N = O. */
const conv2dGradWeight: GpuKernel<"conv2d_grad_weight"> = (ctx, [x, dy], attrs, out) => {
  const [n, c] = x.shape;
  const [, o, oh, ow] = dy.shape;
  const [kh, kw] = attrs.kernel;
  convGemm(
    ctx,
    "conv2d_grad_weight",
    2,
    x,
    dy,
    out,
    [c * kh * kw, o, n * oh * ow],
    convGeometry(x.shape, o, oh, ow, kh, kw, attrs),
  );
};

// ---------------------------------------------------------------------------
// Pooling

/** A pool.wgsl entry: a thread per output cell (forward) or input cell (grads). */
function pool<P extends "max_pool2d" | "avg_pool2d" | "max_pool2d_grad" | "avg_pool2d_grad">(
  op: P,
  entryPoint: string,
): GpuKernel<P> {
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
      entryPoint,
      constants: { WG },
      uniforms: pack([
        size,
        nx,
        h,
        w,
        oh,
        ow,
        attrs.kernel[0],
        attrs.kernel[1],
        attrs.stride[0],
        attrs.stride[1],
        attrs.padding[0],
        attrs.padding[1],
      ]),
      buffers: [...inputs.map((i) => i.buffer), out.buffer],
      workgroups,
    });
  };
}

// ---------------------------------------------------------------------------
// Batch norm

/** N, C and S (the product of the trailing dims) of x [N, C, ...]. */
function normDims(x: GpuInput): [number, number, number] {
  return [x.shape[0], x.shape[1], sizeOf(x.shape.slice(2))];
}

/**
 * Workgroups per channel of the per-channel reductions: as in
 * {@link reduceInto}, enough (~1024 in all) to fill a large GPU, each with a
 * few thousand elements.
 */
function channelSplits(c: number, count: number): { splits: number; chunk: number } {
  const splits = Math.max(1, Math.min(Math.ceil(1024 / c), Math.floor(count / 4096)));
  return { splits, chunk: Math.ceil(count / splits) };
}

/** The Norm uniform block. */
function normUniforms(
  [n, c, s]: [number, number, number],
  o: { splits?: number; chunk?: number; nx: number; total?: number; row?: number },
  f: { eps?: number; momentum?: number; correction?: number } = {},
): ArrayBuffer {
  return pack(
    [n, c, s, o.splits ?? 1, o.chunk ?? 0, o.nx, o.total ?? 0, o.row ?? 0],
    [f.eps ?? 0, f.momentum ?? 0, f.correction ?? 0, 0],
  );
}

/** Records an elementwise norm.wgsl entry (4-wide when S % 4 == 0) over x's elements. */
function normElementwise(
  ctx: GpuContext,
  label: string,
  entry: string,
  dims: [number, number, number],
  eps: number,
  buffers: GPUBuffer[],
): void {
  const size = dims[0] * dims[1] * dims[2];
  if (size === 0) return;
  const wide = dims[2] % 4 === 0;
  const total = wide ? size / 4 : size;
  const { workgroups, nx } = threads1d(total);
  ctx.dispatch({
    label,
    code: normWgsl,
    entryPoint: wide ? `${entry}4` : entry,
    constants: { WG },
    uniforms: normUniforms(dims, { nx, total }, { eps }),
    buffers,
    workgroups,
  });
}

/**
 * The dims a per-channel reduction walks: S/4 vec4s per row where S % 4 == 0
 * (then the 4-wide entry point runs: a quarter of the loads), else S scalars.
 */
function reductionDims(x: GpuInput): { dims: [number, number, number]; wide: boolean } {
  const [n, c, s] = normDims(x);
  const wide = s % 4 === 0;
  return { dims: [n, c, wide ? s / 4 : s], wide };
}

/** Mean and biased variance per channel: one pass, plus a merge when split. */
const bnStats: GpuKernel<"bn_stats"> = (ctx, [x], _attrs, out) => {
  const { dims, wide } = reductionDims(x);
  const { splits, chunk } = channelSplits(dims[1], dims[0] * dims[2]);
  const workgroups = grid(dims[1] * splits);
  const partial = splits > 1 ? ctx.scratch(dims[1] * splits * 3 * 4) : out.buffer;
  ctx.dispatch({
    label: "bn_stats",
    code: normWgsl,
    entryPoint: wide ? "stats4" : "stats_main",
    constants: { WG },
    uniforms: normUniforms(dims, { splits, chunk, nx: workgroups[0] }),
    buffers: [x.buffer, partial],
    workgroups,
  });
  if (splits > 1) {
    const finish = threads1d(dims[1]);
    ctx.dispatch({
      label: "bn_stats",
      code: normWgsl,
      entryPoint: "stats_finish",
      constants: { WG },
      uniforms: normUniforms(dims, { splits, chunk, nx: finish.nx }),
      buffers: [partial, out.buffer],
      workgroups: finish.workgroups,
    });
  }
};

/** (x − mean)/√(var + eps): one elementwise pass. */
const batchNorm: GpuKernel<"batch_norm"> = (ctx, [x, stats], attrs, out) => {
  normElementwise(ctx, "batch_norm", "apply", normDims(x), attrs.eps, [
    x.buffer,
    stats.buffer,
    out.buffer,
  ]);
};

/**
 * The batch-norm gradient: per-channel sums (split), their per-channel terms,
 * then one elementwise pass.
 */
const batchNormGrad: GpuKernel<"batch_norm_grad"> = (ctx, [dy, x, stats], attrs, out) => {
  const { dims, wide } = reductionDims(x);
  if (dims[0] * dims[1] * dims[2] === 0) return;
  const { splits, chunk } = channelSplits(dims[1], dims[0] * dims[2]);
  const sums = ctx.scratch(dims[1] * splits * 2 * 4);
  const workgroups = grid(dims[1] * splits);
  ctx.dispatch({
    label: "batch_norm_grad",
    code: normWgsl,
    entryPoint: wide ? "grad_sums4" : "grad_sums",
    constants: { WG },
    uniforms: normUniforms(dims, { splits, chunk, nx: workgroups[0] }, { eps: attrs.eps }),
    buffers: [x.buffer, stats.buffer, dy.buffer, sums],
    workgroups,
  });
  // The passes after the sums count elements: their uniforms carry S, not S/4.
  const full = normDims(x);
  const terms = ctx.scratch(dims[1] * 16);
  const finish = threads1d(dims[1]);
  ctx.dispatch({
    label: "batch_norm_grad",
    code: normWgsl,
    entryPoint: "grad_finish",
    constants: { WG },
    uniforms: normUniforms(full, { splits, nx: finish.nx }, { eps: attrs.eps }),
    buffers: [sums, stats.buffer, terms],
    workgroups: finish.workgroups,
  });
  const size = full[0] * full[1] * full[2];
  const total = wide ? size / 4 : size;
  const apply = threads1d(total);
  ctx.dispatch({
    label: "batch_norm_grad",
    code: normWgsl,
    entryPoint: wide ? "grad_apply4" : "grad_apply",
    constants: { WG },
    uniforms: normUniforms(full, { nx: apply.nx, total }, { eps: attrs.eps }),
    buffers: [x.buffer, dy.buffer, terms, out.buffer],
    bindings: [1, 3, 4, 5],
    workgroups: apply.workgroups,
  });
};

/** A running statistic: a thread per channel. */
const bnRunning: GpuKernel<"bn_running"> = (ctx, [running, stats], attrs, out) => {
  const c = running.shape[0];
  if (c === 0) return;
  const { workgroups, nx } = threads1d(c);
  ctx.dispatch({
    label: "bn_running",
    code: normWgsl,
    entryPoint: "running",
    constants: { WG },
    uniforms: normUniforms([1, c, 1], { nx, row: attrs.row }, {
      momentum: attrs.momentum,
      correction: attrs.correction,
    }),
    buffers: [running.buffer, stats.buffer, out.buffer],
    workgroups,
  });
};

// ---------------------------------------------------------------------------
// The AGD optimizer's fused ops

/**
 * Rows of one terms workgroup: one pass when a slice has at most this many
 * rows (most conv layers), else split over
 * workgroups plus a finishing pass, so huge layers still fill a large GPU.
 */
const TERMS_CHUNK = 65536;

/**
 * vec4s per terms4 workgroup: 32k elements, so a 256×256 weight takes 2
 * workgroups (both cores of a small CPU adapter). On lavapipe, fcn d8's
 * terms took 1.4 ms with 1024, 0.8 with 4096 and 0.66 with 8192: each
 * workgroup's reduction tree costs more than its loads.
 */
const TERMS4_CHUNK = 8192;
/** Tensors per terms4 dispatch (5 storage buffers: within WebGPU's default 8). */
const TERMS4_GROUP = 4;

/** A single-slice tensor waiting for its terms4 dispatch, with its place in `out`. */
interface SpanInput {
  x: GpuInput;
  offset: number;
  weight: number;
}

/**
 * One terms4 dispatch over up to {@link TERMS4_GROUP} single-slice tensors
 * and its finishing pass: both read the `Group` uniform written here.
 */
function agdTermsGroup(ctx: GpuContext, group: SpanInput[], out: GPUBuffer): void {
  const uniforms = new ArrayBuffer(16 + TERMS4_GROUP * 32);
  const ints = new Uint32Array(uniforms);
  const floats = new Float32Array(uniforms);
  let workgroups = 0;
  group.forEach(({ x, offset, weight }, t) => {
    const n = sizeOf(x.shape);
    const splits = Math.max(1, Math.ceil(n / 4 / TERMS4_CHUNK));
    // Span: n, first, splits, offset, weight.
    const at = 4 + t * 8;
    ints.set([n, workgroups, splits, offset], at);
    floats[at + 4] = weight;
    workgroups += splits;
  });
  const grid2 = grid(workgroups);
  // Group: nx, count, chunk4.
  ints.set([grid2[0], group.length, TERMS4_CHUNK], 0);
  const partials = ctx.scratch(workgroups * 4);
  // Unused slots bind the first tensor again (never read).
  const sources = [0, 1, 2, 3].map((t) => group[Math.min(t, group.length - 1)].x.buffer);
  ctx.dispatch({
    label: "agd_terms",
    code: optimWgsl,
    entryPoint: "terms4",
    constants: { WG },
    uniforms,
    buffers: [...sources, partials],
    workgroups: grid2,
  });
  ctx.dispatch({
    label: "agd_terms",
    code: optimWgsl,
    entryPoint: "terms4_finish",
    uniforms,
    buffers: [partials, out],
    workgroups: [1],
  });
}

/**
 * Per input, the sums of squares of each slice, weighted and packed into
 * `out`: single-slice tensors in groups through terms4, others a workgroup
 * per slice (and split) through terms.
 */
const agdTerms: GpuKernel<"agd_terms"> = (ctx, inputs, attrs, out) => {
  let offset = 0;
  let group: SpanInput[] = [];
  const flush = () => {
    if (group.length > 0) agdTermsGroup(ctx, group, out.buffer);
    group = [];
  };
  inputs.forEach((x, k) => {
    const slices = sizeOf(x.shape.slice(2));
    if (slices === 1) {
      group.push({ x, offset, weight: attrs.weights[k] });
      if (group.length === TERMS4_GROUP) flush();
      offset += 1;
      return;
    }
    const rows = x.shape[0] * x.shape[1];
    const splits = Math.max(1, Math.ceil(rows / TERMS_CHUNK));
    const chunk = Math.ceil(rows / splits);
    const workgroups = grid(slices * splits);
    const head = (nx: number) =>
      pack([rows, slices, splits, chunk, offset, nx], [attrs.weights[k]]);
    const partial = splits > 1 ? ctx.scratch(slices * splits * 4) : out.buffer;
    ctx.dispatch({
      label: "agd_terms",
      code: optimWgsl,
      entryPoint: "terms",
      constants: { WG },
      uniforms: head(workgroups[0]),
      buffers: [x.buffer, partial],
      workgroups,
    });
    if (splits > 1) {
      const finish = threads1d(slices);
      ctx.dispatch({
        label: "agd_terms",
        code: optimWgsl,
        entryPoint: "terms_finish",
        constants: { WG },
        uniforms: head(finish.nx),
        buffers: [partial, out.buffer],
        workgroups: finish.workgroups,
      });
    }
    offset += slices;
  });
  flush();
};

/** η from the packed terms: one workgroup. */
const agdEta: GpuKernel<"agd_eta"> = (ctx, [terms], _attrs, out) => {
  ctx.dispatch({
    label: "agd_eta",
    code: optimWgsl,
    entryPoint: "eta",
    constants: { WG },
    uniforms: pack([terms.shape[0]]),
    buffers: [terms.buffer, out.buffer],
    workgroups: [1],
  });
};

/** The AGD update, a thread per 4 elements; η is read from its GPU buffer. */
const agdUpdate: GpuKernel<"agd_update"> = (ctx, [w, g, terms, eta], attrs, out) => {
  const n4 = Math.ceil(sizeOf(out.shape) / 4);
  if (n4 === 0) return;
  const { workgroups, nx } = threads1d(n4);
  ctx.dispatch({
    label: "agd_update",
    code: optimWgsl,
    entryPoint: "update",
    constants: { WG },
    uniforms: pack([n4, nx, sizeOf(w.shape.slice(2)), attrs.offset], [attrs.mul, 0, 0, 0]),
    buffers: [w.buffer, g.buffer, terms.buffer, eta.buffer, out.buffer],
    workgroups,
  });
};

// ---------------------------------------------------------------------------
// The table

/**
 * One WGSL kernel per primitive op (exhaustive: a missing op is a type
 * error). Each records its dispatches through a {@link GpuContext}; the
 * runtime batches, caches and submits them.
 *
 * @example
 * ```ts ignore
 * import { WEBGPU_KERNELS } from "./kernels.ts";
 * // Inside a backend's run(): the context records the dispatches.
 * WEBGPU_KERNELS.relu(ctx, [x], {}, out);
 * ```
 */
export const WEBGPU_KERNELS: GpuKernelTable = {
  neg: unary("neg"),
  exp: unary("exp"),
  log: unary("log"),
  sqrt: unary("sqrt"),
  relu: unary("relu"),
  step: unary("step"),
  scaled_relu: unary("scaled_relu"),
  relu_grad: binary("relu_grad"),
  nan_to_num: unary("nan_to_num"),
  affine: unary("affine"),
  add: binary("add"),
  sub: binary("sub"),
  mul: binary("mul"),
  div: binary("div"),
  eq: binary("eq"),
  sum: reduction("sum"),
  max: reduction("max"),
  argmax,
  expand,
  one_hot: oneHot,
  mse_loss: mseLoss,
  mse_loss_grad: mseLossGrad,
  matmul,
  conv2d,
  conv2d_grad_input: conv2dGradInput,
  conv2d_grad_weight: conv2dGradWeight,
  max_pool2d: pool("max_pool2d", "max_pool"),
  max_pool2d_grad: pool("max_pool2d_grad", "max_grad"),
  avg_pool2d: pool("avg_pool2d", "avg_pool"),
  avg_pool2d_grad: pool("avg_pool2d_grad", "avg_grad"),
  bn_stats: bnStats,
  batch_norm: batchNorm,
  batch_norm_grad: batchNormGrad,
  bn_running: bnRunning,
  agd_terms: agdTerms,
  agd_eta: agdEta,
  agd_update: agdUpdate,
};
