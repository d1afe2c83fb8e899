/**
 * The norm family's WebGPU kernels (norm.wgsl): batch norm's per-channel
 * statistics and gradient sums in one workgroup-per-channel pass (split when
 * the channels are few), then one elementwise pass; running statistics a
 * thread per channel.
 *
 * @module
 */
import type { OpAttrs } from "../op_name.ts";
import { sizeOf } from "../../shape.ts";
import {
  type GpuContext,
  type GpuInput,
  type GpuKernel,
  grid,
} from "../../backend/webgpu/context.ts";
import { threads1d, WG } from "../../backend/webgpu/launch.ts";
import {
  encodeUniforms,
  uniformLayout,
  type WgslDeclarations,
} from "../../backend/webgpu/uniforms.ts";
import { normWgsl } from "./norm_wgsl.generated.ts";

/** Uniform block of every entry point. */
const NORM_UNIFORMS = uniformLayout("Norm", {
  n: "u32",
  c: "u32",
  s: "u32",
  splits: "u32",
  chunk: "u32",
  nx: "u32",
  total: "u32",
  row: "u32",
  eps: "f32",
  momentum: "f32",
  correction: "f32",
  pad: "u32",
});

/** What norm.wgsl must agree with (checked by uniforms_test.ts). */
export const NORM_WGSL: WgslDeclarations = {
  file: "norm.wgsl",
  source: normWgsl,
  uniforms: [NORM_UNIFORMS],
  enums: [],
};

/** N, C and S (the product of the trailing dims) of x [N, C, ...]. */
function normDims(x: GpuInput): [number, number, number] {
  return [x.shape[0], x.shape[1], sizeOf(x.shape.slice(2))];
}

/**
 * Workgroups per channel of the per-channel reductions: as in the reduce
 * family's `reduceInto`, enough (~1024 in all) to fill a large GPU, each
 * with a few thousand elements.
 */
function channelSplits(c: number, count: number): { splits: number; chunk: number } {
  const splits = Math.max(1, Math.min(Math.ceil(1024 / c), Math.floor(count / 4096)));
  return { splits, chunk: Math.ceil(count / splits) };
}

/** The Norm uniform block (one split unless told). */
function normUniforms(
  [n, c, s]: [number, number, number],
  o: { splits?: number; chunk?: number; nx: number; total?: number; row?: number },
  f: { eps?: number; momentum?: number; correction?: number } = {},
): ArrayBuffer {
  return encodeUniforms(NORM_UNIFORMS, { n, c, s, splits: 1, ...o, ...f });
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
const bnStats: GpuKernel<OpAttrs["bn_stats"]> = (ctx, [x], _attrs, out) => {
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
const batchNorm: GpuKernel<OpAttrs["batch_norm"]> = (ctx, [x, stats], attrs, out) => {
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
const batchNormGrad: GpuKernel<OpAttrs["batch_norm_grad"]> = (ctx, [dy, x, stats], attrs, out) => {
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
const bnRunning: GpuKernel<OpAttrs["bn_running"]> = (ctx, [running, stats], attrs, out) => {
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

/** The norm family's WebGPU kernels. */
export const NORM_GPU_KERNELS: {
  [P in "bn_stats" | "batch_norm" | "batch_norm_grad" | "bn_running"]: GpuKernel<OpAttrs[P]>;
} = {
  bn_stats: bnStats,
  batch_norm: batchNorm,
  batch_norm_grad: batchNormGrad,
  bn_running: bnRunning,
};
