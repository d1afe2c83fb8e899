/**
 * Kernel throughput of the WebGPU backend: matmul GFLOP/s at several sizes and
 * the conv2d of a ResNet-18 layer (and its two gradients), each side by side
 * with a naive one-thread-per-output kernel on the same adapter.
 *
 * Timing: after a warm-up, many dispatches are recorded and submitted in
 * batches, then a single read waits for all of them; the time per call is the
 * total over the count. Run it as
 *
 * ```sh
 * deno run -A --unstable-webgpu packages/tensor/bench/kernels_bench.ts [--quick]
 * ```
 *
 * @module
 */
import type { OpAttrs, OpName } from "../ops/op_name.ts";
import { type Shape, sizeOf } from "../shape.ts";
import { Rng } from "../random.ts";
import type { GpuKernel } from "../backend/webgpu/context.ts";
import { type GpuStorage, WebGpuBackend } from "../backend/webgpu/webgpu_backend.ts";
import {
  CONV_VARIANTS,
  KERNEL_VARIANTS,
  MATMUL_VARIANTS,
  opDefinition,
  OPS,
} from "../ops/registry.ts";

/** Options of {@link benchKernels}. */
export interface BenchOptions {
  /** Square matmul sizes (default 256, 512, 1024). */
  matmulSizes?: number[];
  /** Convolution cases (default: the ResNet-18 3×3 64→64 layer at 32×32, batch 16). */
  convs?: ConvCase[];
  /** Seconds of GPU work to aim for per measurement (default 1). */
  seconds?: number;
  /** Skip the naive kernels (they are slow on software adapters). */
  skipNaive?: boolean;
  /** Print a table while running (default true). */
  log?: boolean;
}

/** One convolution to time. */
export interface ConvCase {
  /** A short name for the table. */
  name: string;
  /** Input shape [N, C, H, W]. */
  x: [number, number, number, number];
  /** Weight shape [O, C, kh, kw]. */
  w: [number, number, number, number];
  /** Stride and padding. */
  attrs: OpAttrs["conv2d"];
}

/** One measured kernel. */
export interface BenchResult {
  /** What ran, e.g. `matmul 1024³` or `conv2d resnet18-64x32x32`. */
  name: string;
  /** Floating-point operations per call (multiply and add count as 2). */
  flops: number;
  /** Milliseconds per call of the backend's kernel. */
  ms: number;
  /** GFLOP/s of the backend's kernel. */
  gflops: number;
  /** Milliseconds per call of the naive kernel (absent with `skipNaive`). */
  naiveMs?: number;
  /** GFLOP/s of the naive kernel. */
  naiveGflops?: number;
  /** GFLOP/s of each variant of the kernel (matmul and the convs have several). */
  variants?: Record<string, number>;
}

/** The adapter and the results of {@link benchKernels}. */
export interface BenchReport {
  /** The adapter's description (vendor, architecture, description). */
  adapter: string;
  /** The variant the backend chose per op on this adapter. */
  chosen: Record<string, string>;
  /** One row per kernel and size. */
  results: BenchResult[];
}

const RESNET_LAYER: ConvCase = {
  name: "resnet18 3×3 64→64 32×32 b16",
  x: [16, 64, 32, 32],
  w: [64, 64, 3, 3],
  attrs: { stride: [1, 1], padding: [1, 1] },
};

// ---------------------------------------------------------------------------
// Naive kernels: one thread per output element, straight from global memory.

const NAIVE_MATMUL = /* wgsl */ `
struct U { m: u32, n: u32, k: u32, nx: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * u.nx) * 256u + li;
  if (i >= u.m * u.n) { return; }
  let row = i / u.n;
  let col = i % u.n;
  var acc = 0.0;
  for (var p = 0u; p < u.k; p++) { acc += a[row * u.k + p] * b[p * u.n + col]; }
  out[i] = acc;
}`;

const NAIVE_CONV = /* wgsl */ `
struct U { total: u32, nx: u32, c: u32, h: u32, w: u32, o: u32, oh: u32, ow: u32,
           kh: u32, kw: u32, sh: u32, sw: u32, ph: i32, pw: i32, p0: u32, p1: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * u.nx) * 256u + li;
  if (i >= u.total) { return; }
  let ox = i % u.ow;
  let oy = (i / u.ow) % u.oh;
  let oc = (i / (u.ow * u.oh)) % u.o;
  let n = i / (u.ow * u.oh * u.o);
  var acc = 0.0;
  for (var c = 0u; c < u.c; c++) {
    for (var ky = 0u; ky < u.kh; ky++) {
      let iy = i32(oy * u.sh + ky) - u.ph;
      if (iy < 0 || iy >= i32(u.h)) { continue; }
      for (var kx = 0u; kx < u.kw; kx++) {
        let ix = i32(ox * u.sw + kx) - u.pw;
        if (ix < 0 || ix >= i32(u.w)) { continue; }
        acc += x[((n * u.c + c) * u.h + u32(iy)) * u.w + u32(ix)] *
          wt[((oc * u.c + c) * u.kh + ky) * u.kw + kx];
      }
    }
  }
  out[i] = acc;
}`;

function grid1d(threads: number): { workgroups: [number, number]; nx: number } {
  const count = Math.max(1, Math.ceil(threads / 256));
  const y = Math.ceil(count / 65535);
  const x = Math.ceil(count / y);
  return { workgroups: [x, y], nx: x };
}

/** The naive matmul (no transposes), as a kernel-table entry. */
export const naiveMatmul: GpuKernel<OpAttrs["matmul"]> = (ctx, [a, b], attrs, out) => {
  if (attrs.transA || attrs.transB) throw new Error("The naive matmul has no transposes");
  const [m, n] = out.shape;
  const { workgroups, nx } = grid1d(m * n);
  ctx.dispatch({
    label: "matmul",
    code: NAIVE_MATMUL,
    uniforms: new Uint32Array([m, n, a.shape[1], nx]).buffer,
    buffers: [a.buffer, b.buffer, out.buffer],
    workgroups,
  });
};

/** The naive direct conv2d, as a kernel-table entry. */
export const naiveConv2d: GpuKernel<OpAttrs["conv2d"]> = (ctx, [x, w], attrs, out) => {
  const [, c, h, wd] = x.shape;
  const [o, , kh, kw] = w.shape;
  const [, , oh, ow] = out.shape;
  const total = sizeOf(out.shape);
  const { workgroups, nx } = grid1d(total);
  const u = new Int32Array([
    total,
    nx,
    c,
    h,
    wd,
    o,
    oh,
    ow,
    kh,
    kw,
    attrs.stride[0],
    attrs.stride[1],
    attrs.padding[0],
    attrs.padding[1],
    0,
    0,
  ]);
  ctx.dispatch({
    label: "conv2d",
    code: NAIVE_CONV,
    uniforms: u.buffer,
    buffers: [x.buffer, w.buffer, out.buffer],
    workgroups,
  });
};

// ---------------------------------------------------------------------------
// Timing

/** Milliseconds per call of `op` on `backend`, timing enough calls to fill `seconds`. */
async function time<P extends OpName>(
  backend: WebGpuBackend,
  op: P,
  shapes: Shape[],
  attrs: OpAttrs[P],
  seconds: number,
): Promise<number> {
  const rng = new Rng(1);
  const inputs = shapes.map((shape) => ({
    storage: backend.upload(rng.normals(sizeOf(shape))) as GpuStorage,
    shape,
    dtype: "float32" as const,
  }));
  const spec = opDefinition(op).shape(shapes, shapes.map(() => "float32"), attrs);
  const once = async (calls: number): Promise<number> => {
    const start = performance.now();
    let last: GpuStorage | undefined;
    for (let i = 0; i < calls; i++) {
      if (last) backend.release(last);
      last = backend.run(opDefinition(op), inputs, attrs, spec);
    }
    await backend.read(last!, "float32", 1);
    backend.release(last!);
    return performance.now() - start;
  };
  await once(1); // compile and warm up
  const probe = await once(1);
  const calls = Math.max(2, Math.min(200, Math.ceil((seconds * 1000) / probe)));
  const total = await once(calls);
  for (const i of inputs) backend.release(i.storage);
  return total / calls;
}

function fmt(x: number | undefined, digits = 2): string {
  return x === undefined ? "-" : x.toFixed(digits);
}

/**
 * Measures the backend's matmul and conv kernels against naive ones on the
 * default adapter and returns (and by default prints) the results.
 *
 * @example
 * ```ts ignore
 * import { benchKernels } from "./kernels_bench.ts";
 * const { results } = await benchKernels({ matmulSizes: [256], convs: [] });
 * console.log(results[0].gflops);
 * ```
 */
export async function benchKernels(options: BenchOptions = {}): Promise<BenchReport> {
  const {
    matmulSizes = [256, 512, 1024],
    convs = [RESNET_LAYER],
    seconds = 1,
    skipNaive = false,
    log = true,
  } = options;
  const fast = await WebGpuBackend.create({ variantSets: KERNEL_VARIANTS });
  const naive = skipNaive ? undefined : await WebGpuBackend.create({
    variantSets: KERNEL_VARIANTS,
    kernels: { matmul: naiveMatmul, conv2d: naiveConv2d },
  });
  const byVariant: [string, WebGpuBackend][] = [];
  // Both ops name their variants alike ("tiled", "texture").
  for (const v of new Set([...Object.keys(MATMUL_VARIANTS), ...Object.keys(CONV_VARIANTS)])) {
    byVariant.push([
      v,
      await WebGpuBackend.create({
        variantSets: KERNEL_VARIANTS,
        variants: { matmul: v, conv2d: v },
      }),
    ]);
  }
  const info = fast.adapterInfo;
  const adapter = [info.vendor, info.architecture, info.description].filter(Boolean).join(" / ");
  const results: BenchResult[] = [];
  const print = (r: BenchResult) => {
    if (!log) return;
    const variants = Object.entries(r.variants ?? {})
      .map(([v, g]) => `${v} ${fmt(g).padStart(6)}`).join("  ");
    console.log(
      `${r.name.padEnd(48)} ${fmt(r.ms).padStart(9)} ms ${fmt(r.gflops).padStart(7)} GFLOP/s` +
        `   naive ${fmt(r.naiveMs).padStart(9)} ms ${fmt(r.naiveGflops).padStart(6)} GFLOP/s` +
        (variants ? `   (variants, GFLOP/s: ${variants})` : ""),
    );
  };
  const add = async <P extends OpName>(
    name: string,
    op: P,
    shapes: Shape[],
    attrs: OpAttrs[P],
    flops: number,
    withNaive: boolean,
  ) => {
    const ms = await time(fast, op, shapes, attrs, seconds);
    const r: BenchResult = { name, flops, ms, gflops: flops / ms / 1e6 };
    if (byVariant.length > 1) {
      r.variants = {};
      for (const [v, b] of byVariant) {
        r.variants[v] = flops / (await time(b, op, shapes, attrs, seconds)) / 1e6;
      }
    }
    if (naive && withNaive) {
      r.naiveMs = await time(naive, op, shapes, attrs, seconds);
      r.naiveGflops = flops / r.naiveMs / 1e6;
    }
    results.push(r);
    print(r);
  };
  const chosen = fast.variants();
  if (log) console.log(`adapter: ${adapter}; variants chosen: ${JSON.stringify(chosen)}`);
  try {
    for (const s of matmulSizes) {
      await add(
        `matmul ${s}³`,
        "matmul",
        [[s, s], [s, s]],
        {
          transA: false,
          transB: false,
        },
        2 * s ** 3,
        true,
      );
    }
    for (const c of convs) {
      const [n, ch, h, w] = c.x;
      const [o, , kh, kw] = c.w;
      const out = OPS.conv2d.shape([c.x, c.w], ["float32", "float32"], c.attrs).shape;
      const flops = 2 * n * o * out[2] * out[3] * ch * kh * kw;
      await add(`conv2d ${c.name}`, "conv2d", [c.x, c.w], c.attrs, flops, true);
      await add(
        `conv2d_grad_input ${c.name}`,
        "conv2d_grad_input",
        [out, c.w],
        {
          ...c.attrs,
          inputHW: [h, w],
        },
        flops,
        false,
      );
      await add(
        `conv2d_grad_weight ${c.name}`,
        "conv2d_grad_weight",
        [c.x, out],
        {
          ...c.attrs,
          kernel: [kh, kw],
        },
        flops,
        false,
      );
    }
  } finally {
    fast.destroy();
    naive?.destroy();
    for (const [, b] of byVariant) b.destroy();
  }
  return { adapter, chosen, results };
}

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  await benchKernels(quick ? { matmulSizes: [256], seconds: 0.3 } : {});
}
