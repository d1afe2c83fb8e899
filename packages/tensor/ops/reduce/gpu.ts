/**
 * The reduce family's WebGPU kernels (reduce.wgsl): sum and max over any
 * axes with a shared-memory tree per output workgroup, split over several
 * workgroups (and a second pass) when there are few outputs, or a thread per
 * output for short reductions; argmax a thread per row.
 *
 * @module
 */
import type { OpAttrs } from "../op_name.ts";
import { normalizeAxes, sizeOf, stridesOf } from "../../shape.ts";
import { type GpuContext, type GpuKernel, grid } from "../../backend/webgpu/context.ts";
import { dims, threads1d, WG } from "../../backend/webgpu/launch.ts";
import {
  encodeUniforms,
  uniformLayout,
  type WgslDeclarations,
  type WgslEnum,
  wgslEnum,
} from "../../backend/webgpu/uniforms.ts";
import { reduceWgsl } from "./reduce_wgsl.generated.ts";

/** A reduction {@link reduceInto} can run. */
export type ReduceOp = "sum" | "max";

/** The `OP` code of each reduction (WGSL `const REDUCE_<OP>`). */
const REDUCE_OP: WgslEnum<ReduceOp> = wgslEnum("REDUCE_", { sum: 0, max: 1 });

/** Uniform block of `rows` and `cols`: kept and reduced dims with their strides. */
const REDUCE_UNIFORMS = uniformLayout("Reduce", {
  outputs: "u32",
  count: "u32",
  splits: "u32",
  chunk: "u32",
  nx: "u32",
  krank: "u32",
  rrank: "u32",
  pad: "u32",
  kshape: "array<vec4<u32>, 2>",
  kstride: "array<vec4<u32>, 2>",
  rshape: "array<vec4<u32>, 2>",
  rstride: "array<vec4<u32>, 2>",
});

/** Uniform block of `argmax`. */
const ARG_UNIFORMS = uniformLayout("Arg", { rows: "u32", c: "u32", nx: "u32", pad: "u32" });

/** What reduce.wgsl must agree with (checked by uniforms_test.ts). */
export const REDUCE_WGSL: WgslDeclarations = {
  file: "reduce.wgsl",
  source: reduceWgsl,
  uniforms: [REDUCE_UNIFORMS, ARG_UNIFORMS],
  enums: [REDUCE_OP],
};

/** A strided view: dim sizes and strides in elements. */
export interface Dims {
  /** Dim sizes. */
  shape: number[];
  /** Strides in elements. */
  strides: number[];
}

/**
 * Records the reduction of `input` into `out`: output element o (decoded over
 * `kept`) combines the `reduced` elements. Chooses a thread per output for
 * short or column-wise reductions, else a workgroup per output, split over
 * several workgroups plus a second pass when the outputs are too few. The
 * GEMMs use it to add their split-K slices.
 *
 * @param ctx the runtime
 * @param label the op name, for GPU errors
 * @param op `sum` or `max`
 * @param input the buffer read
 * @param kept the dims of the outputs
 * @param reduced the dims combined into each output
 * @param out the buffer written
 */
export function reduceInto(
  ctx: GpuContext,
  label: string,
  op: ReduceOp,
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
  const uniforms = (splits: number, chunk: number, nx: number) =>
    encodeUniforms(REDUCE_UNIFORMS, {
      outputs,
      count,
      splits,
      chunk,
      nx,
      krank: kept.shape.length,
      rrank: reduced.shape.length,
      kshape: dims(kept.shape),
      kstride: dims(kept.strides),
      rshape: dims(reduced.shape),
      rstride: dims(reduced.strides),
    });
  if (count <= 32 || (columnWise && outputs >= 1024 && count <= 8192)) {
    const { workgroups, nx } = threads1d(outputs);
    ctx.dispatch({
      label,
      code: reduceWgsl,
      entryPoint: "cols",
      constants: { OP: REDUCE_OP.codes[op], WG },
      uniforms: uniforms(1, count, nx),
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
    constants: { OP: REDUCE_OP.codes[op], WG },
    uniforms: uniforms(splits, chunk, workgroups[0]),
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
function reduction<P extends ReduceOp>(op: P): GpuKernel<OpAttrs[P]> {
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
    reduceInto(ctx, op, op, x.buffer, kept, reduced, out.buffer);
  };
}

/** argmax along the last axis: a thread per row, the first max wins. */
const argmax: GpuKernel<OpAttrs["argmax"]> = (ctx, [x], _attrs, out) => {
  const rows = sizeOf(out.shape);
  if (rows === 0) return;
  const c = x.shape[x.shape.length - 1];
  const { workgroups, nx } = threads1d(rows);
  ctx.dispatch({
    label: "argmax",
    code: reduceWgsl,
    entryPoint: "argmax",
    // argmax ignores OP; max's code keeps its pipeline the one it always was.
    constants: { OP: REDUCE_OP.codes.max, WG },
    uniforms: encodeUniforms(ARG_UNIFORMS, { rows, c, nx }),
    buffers: [x.buffer, out.buffer],
    workgroups,
  });
};

/** The reduce family's WebGPU kernels. */
export const REDUCE_GPU_KERNELS: { [P in "sum" | "max" | "argmax"]: GpuKernel<OpAttrs[P]> } = {
  sum: reduction("sum"),
  max: reduction("max"),
  argmax,
};
