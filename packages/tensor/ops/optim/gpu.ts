/**
 * The optim family's WebGPU kernels (optim.wgsl), AGD's fused ops
 * (Bernstein et al. 2023, Algorithm 1): the slice norms of all gradients
 * packed into one vector, η from it, and one update pass per weight reading η
 * on the GPU.
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
import { optimWgsl } from "./optim_wgsl.generated.ts";

/** Uniform block of `terms` and `terms_finish`. */
const TERMS_UNIFORMS = uniformLayout("Terms", {
  rows: "u32",
  slices: "u32",
  splits: "u32",
  chunk: "u32",
  offset: "u32",
  nx: "u32",
  weight: "f32",
  pad: "u32",
});

/** Uniform block of `eta`. */
const ETA_UNIFORMS = uniformLayout("Eta", { n: "u32", pad0: "u32", pad1: "u32", pad2: "u32" });

/** Uniform block of `update`. */
const UPDATE_UNIFORMS = uniformLayout("Update", {
  n4: "u32",
  nx: "u32",
  slices: "u32",
  offset: "u32",
  mul: "f32",
  pad0: "u32",
  pad1: "u32",
  pad2: "u32",
});

/** One tensor of a terms4 group (an element of `Group.s`). */
const SPAN_UNIFORMS = uniformLayout("Span", {
  n: "u32",
  first: "u32",
  splits: "u32",
  offset: "u32",
  weight: "f32",
  pad0: "u32",
  pad1: "u32",
  pad2: "u32",
});

/** Tensors per terms4 dispatch (5 storage buffers: within WebGPU's default 8). */
const TERMS4_GROUP = 4;

/** Uniform block of `terms4` and `terms4_finish`. */
const GROUP_UNIFORMS = uniformLayout("Group", {
  nx: "u32",
  count: "u32",
  chunk4: "u32",
  pad: "u32",
  s: { struct: SPAN_UNIFORMS, count: TERMS4_GROUP },
});

/** What optim.wgsl must agree with (checked by uniforms_test.ts). */
export const OPTIM_WGSL: WgslDeclarations = {
  file: "optim.wgsl",
  source: optimWgsl,
  uniforms: [TERMS_UNIFORMS, ETA_UNIFORMS, UPDATE_UNIFORMS, GROUP_UNIFORMS, SPAN_UNIFORMS],
  enums: [],
};

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
  let workgroups = 0;
  const spans = group.map(({ x, offset, weight }) => {
    const n = sizeOf(x.shape);
    const splits = Math.max(1, Math.ceil(n / 4 / TERMS4_CHUNK));
    const span = { n, first: workgroups, splits, offset, weight };
    workgroups += splits;
    return span;
  });
  const grid2 = grid(workgroups);
  const uniforms = encodeUniforms(GROUP_UNIFORMS, {
    nx: grid2[0],
    count: group.length,
    chunk4: TERMS4_CHUNK,
    s: spans,
  });
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
const agdTerms: GpuKernel<OpAttrs["agd_terms"]> = (ctx, inputs, attrs, out) => {
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
      encodeUniforms(TERMS_UNIFORMS, {
        rows,
        slices,
        splits,
        chunk,
        offset,
        nx,
        weight: attrs.weights[k],
      });
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
const agdEta: GpuKernel<OpAttrs["agd_eta"]> = (ctx, [terms], _attrs, out) => {
  ctx.dispatch({
    label: "agd_eta",
    code: optimWgsl,
    entryPoint: "eta",
    constants: { WG },
    uniforms: encodeUniforms(ETA_UNIFORMS, { n: terms.shape[0] }),
    buffers: [terms.buffer, out.buffer],
    workgroups: [1],
  });
};

/** The AGD update, a thread per 4 elements; η is read from its GPU buffer. */
const agdUpdate: GpuKernel<OpAttrs["agd_update"]> = (ctx, [w, g, terms, eta], attrs, out) => {
  const n4 = Math.ceil(sizeOf(out.shape) / 4);
  if (n4 === 0) return;
  const { workgroups, nx } = threads1d(n4);
  ctx.dispatch({
    label: "agd_update",
    code: optimWgsl,
    entryPoint: "update",
    constants: { WG },
    uniforms: encodeUniforms(UPDATE_UNIFORMS, {
      n4,
      nx,
      slices: sizeOf(w.shape.slice(2)),
      offset: attrs.offset,
      mul: attrs.mul,
    }),
    buffers: [w.buffer, g.buffer, terms.buffer, eta.buffer, out.buffer],
    workgroups,
  });
};

/** The optim family's WebGPU kernels. */
export const OPTIM_GPU_KERNELS: {
  [P in "agd_terms" | "agd_eta" | "agd_update"]: GpuKernel<OpAttrs[P]>;
} = {
  agd_terms: agdTerms,
  agd_eta: agdEta,
  agd_update: agdUpdate,
};
