/**
 * The CPU reference kernels: one plain loop per primitive op, written to be
 * obviously correct rather than fast. They define what every op means; the
 * WGSL kernels are validated against them and gradients are finite-differenced
 * against them. Sums accumulate in JS numbers (float64) and are stored once.
 *
 * @module
 */
import type { OpAttrs, OpName } from "../../op_name.ts";
import { broadcastStrides, normalizeAxes, type Shape, sizeOf } from "../../shape.ts";
import type { CpuInput, CpuKernel, CpuKernelTable, CpuOutput } from "./kernel.ts";
import { conv2d, conv2dGradInput, conv2dGradWeight } from "./_conv.ts";
import { avgPool2d, avgPool2dGrad, maxPool2d, maxPool2dGrad } from "./_pool.ts";
import { isGreater } from "./_order.ts";
import { batchNorm, batchNormGrad, bnRunning, bnStats } from "./_norm.ts";

/** The largest finite float32, which ±Inf become under `nan_to_num`. */
const F32_MAX = 3.4028234663852886e38;

// ---------------------------------------------------------------------------
// Indexing helpers

/**
 * For each element of `to` (row-major), the flat index of the element of
 * `from` that numpy broadcasting reads for it. Reading through this index is
 * `expand`; scattering through it with `+=` is `sum` (its adjoint).
 */
export function broadcastIndex(from: Shape, to: Shape): Int32Array {
  const strides = broadcastStrides(from, to);
  const size = sizeOf(to);
  const index = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    let rest = i;
    let offset = 0;
    for (let d = to.length - 1; d >= 0; d--) {
      const coord = rest % to[d];
      rest = Math.floor(rest / to[d]);
      offset += coord * strides[d];
    }
    index[i] = offset;
  }
  return index;
}

/** `shape` with the reduced `axes` set to 1 (the keep-dims reduction shape). */
function keptShape(shape: Shape, axes: readonly number[]): number[] {
  const norm = normalizeAxes(axes, shape.length);
  return shape.map((d, i) => (norm.includes(i) ? 1 : d));
}

// ---------------------------------------------------------------------------
// Elementwise

/** A unary float32 kernel applying `f` to each element. */
function unary<P extends OpName>(f: (x: number, attrs: OpAttrs[P]) => number): CpuKernel<P> {
  return ([x], attrs, out) => {
    for (let i = 0; i < out.data.length; i++) out.data[i] = f(x.data[i], attrs);
  };
}

/** A binary float32 kernel applying `f` with numpy broadcasting. */
function binary<P extends OpName>(f: (a: number, b: number) => number): CpuKernel<P> {
  return ([a, b], _attrs, out) => {
    const ia = broadcastIndex(a.shape, out.shape);
    const ib = broadcastIndex(b.shape, out.shape);
    for (let i = 0; i < out.data.length; i++) out.data[i] = f(a.data[ia[i]], b.data[ib[i]]);
  };
}

/** torch.nan_to_num: NaN → 0, ±Inf → ±float32 max, finite values unchanged. */
function nanToNum(x: number): number {
  if (Number.isNaN(x)) return 0;
  if (x === Infinity) return F32_MAX;
  if (x === -Infinity) return -F32_MAX;
  return x;
}

// ---------------------------------------------------------------------------
// Reductions

/** Sum over `attrs.axes`, keeping them as size-1 dims. */
function sum([x]: CpuInput[], attrs: { axes: number[] }, out: CpuOutput): void {
  const acc = new Float64Array(out.data.length);
  const slot = broadcastIndex(keptShape(x.shape, attrs.axes), x.shape);
  for (let i = 0; i < x.data.length; i++) acc[slot[i]] += x.data[i];
  out.data.set(acc);
}

/**
 * Max over `attrs.axes`, keeping them as size-1 dims. An empty or all -inf
 * set gives -inf; a NaN anywhere in the set gives NaN (as torch.amax).
 */
function max([x]: CpuInput[], attrs: { axes: number[] }, out: CpuOutput): void {
  out.data.fill(-Infinity);
  const slot = broadcastIndex(keptShape(x.shape, attrs.axes), x.shape);
  for (let i = 0; i < x.data.length; i++) {
    if (isGreater(x.data[i], out.data[slot[i]])) out.data[slot[i]] = x.data[i];
  }
}

/**
 * Index of the max along the last axis, as int32; the first one on ties (a
 * NaN counts as larger than any number, so the first NaN wins, as torch).
 */
function argmax([x]: CpuInput[], _attrs: unknown, out: CpuOutput): void {
  const c = x.shape[x.shape.length - 1];
  for (let row = 0; row < out.data.length; row++) {
    let best = 0;
    for (let j = 1; j < c; j++) {
      if (isGreater(x.data[row * c + j], x.data[row * c + best])) best = j;
    }
    out.data[row] = best;
  }
}

// ---------------------------------------------------------------------------
// Shape and data movement

/** numpy broadcast of the input to `attrs.shape` (dtype preserved). */
function expand([x]: CpuInput[], _attrs: unknown, out: CpuOutput): void {
  const src = broadcastIndex(x.shape, out.shape);
  for (let i = 0; i < out.data.length; i++) out.data[i] = x.data[src[i]];
}

/** [N] int32 labels → [N, classes] with `value` at the label; out-of-range rows stay 0. */
function oneHot([labels]: CpuInput[], attrs: OpAttrs["one_hot"], out: CpuOutput): void {
  const { classes, value } = attrs;
  out.data.fill(0);
  for (let n = 0; n < labels.data.length; n++) {
    const label = labels.data[n];
    if (label >= 0 && label < classes) out.data[n * classes + label] = value;
  }
}

/** Mean over [N, C] of (x − value·onehot(labels))², accumulated in float64. */
function mseLoss([x, labels]: CpuInput[], attrs: OpAttrs["mse_loss"], out: CpuOutput): void {
  const classes = x.shape[1];
  let acc = 0;
  for (let i = 0; i < x.data.length; i++) {
    const target = labels.data[Math.floor(i / classes)] === i % classes ? attrs.value : 0;
    acc += (x.data[i] - target) ** 2;
  }
  out.data[0] = x.data.length > 0 ? acc / x.data.length : NaN;
}

/** dy · 2(x − value·onehot(labels)) / (N·C). */
function mseLossGrad(
  [dy, x, labels]: CpuInput[],
  attrs: OpAttrs["mse_loss_grad"],
  out: CpuOutput,
): void {
  const classes = x.shape[1];
  const scale = (2 * dy.data[0]) / x.data.length;
  for (let i = 0; i < x.data.length; i++) {
    const target = labels.data[Math.floor(i / classes)] === i % classes ? attrs.value : 0;
    out.data[i] = scale * (x.data[i] - target);
  }
}

// ---------------------------------------------------------------------------
// Matmul

/**
 * out[M,N] = op(a)·op(b). Without transposes a is [M,K] and b is [K,N];
 * `transA` reads a stored as [K,M] and `transB` reads b stored as [N,K].
 */
function matmul([a, b]: CpuInput[], attrs: OpAttrs["matmul"], out: CpuOutput): void {
  const [m, n] = out.shape;
  const k = attrs.transA ? a.shape[0] : a.shape[1];
  const aAt = attrs.transA
    ? (i: number, p: number) => a.data[p * m + i]
    : (i: number, p: number) => a.data[i * k + p];
  const bAt = attrs.transB
    ? (p: number, j: number) => b.data[j * k + p]
    : (p: number, j: number) => b.data[p * n + j];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc += aAt(i, p) * bAt(p, j);
      out.data[i * n + j] = acc;
    }
  }
}

// ---------------------------------------------------------------------------
// The AGD optimizer's fused ops

/** Per input k and slice r of its dims past the first two: weights[k]·‖x_k[:, :, r]‖_F, packed. */
function agdTerms(inputs: CpuInput[], attrs: OpAttrs["agd_terms"], out: CpuOutput): void {
  let offset = 0;
  inputs.forEach((x, k) => {
    const slices = sizeOf(x.shape.slice(2));
    const rows = x.shape[0] * x.shape[1];
    for (let r = 0; r < slices; r++) {
      let acc = 0;
      for (let i = 0; i < rows; i++) acc += x.data[i * slices + r] ** 2;
      out.data[offset + r] = attrs.weights[k] * Math.sqrt(acc);
    }
    offset += slices;
  });
}

/** η = log((1 + √(1 + 4G)) / 2) with G the sum of the terms. */
function agdEta([terms]: CpuInput[], _attrs: unknown, out: CpuOutput): void {
  let g = 0;
  for (const t of terms.data) g += t;
  out.data[0] = Math.log((1 + Math.sqrt(1 + 4 * g)) / 2);
}

/** w − nan_to_num(mul·η / terms[offset + r])·g, r the slice of each element. */
function agdUpdate(
  [w, g, terms, eta]: CpuInput[],
  attrs: OpAttrs["agd_update"],
  out: CpuOutput,
): void {
  const slices = sizeOf(w.shape.slice(2));
  const c = attrs.mul * eta.data[0];
  for (let i = 0; i < out.data.length; i++) {
    const factor = nanToNum(c / terms.data[attrs.offset + (i % slices)]);
    out.data[i] = w.data[i] - factor * g.data[i];
  }
}

// ---------------------------------------------------------------------------
// The table

/**
 * One CPU reference kernel per primitive op: the definition of each op's
 * meaning. Every kernel fills a zero-initialised output of the shape and dtype
 * {@link SHAPE_RULES} computed, and may assume its inputs passed those rules.
 *
 * @example
 * ```ts
 * import { CPU_KERNELS } from "./kernels.ts";
 * const out = { data: new Float32Array(2), shape: [2] };
 * CPU_KERNELS.add(
 *   [
 *     { data: new Float32Array([1, 2]), shape: [2], dtype: "float32" },
 *     { data: new Float32Array([10]), shape: [1], dtype: "float32" },
 *   ],
 *   {},
 *   out,
 * );
 * console.log(out.data); // Float32Array [11, 12]
 * ```
 */
export const CPU_KERNELS: CpuKernelTable = {
  neg: unary((x) => -x),
  exp: unary(Math.exp),
  log: unary(Math.log),
  sqrt: unary(Math.sqrt),
  relu: unary((x) => Math.max(x, 0)),
  scaled_relu: unary<"scaled_relu">((x, { scale }) => Math.max(x, 0) * scale),
  relu_grad: ([dy, x], { scale }, out) => {
    for (let i = 0; i < out.data.length; i++) out.data[i] = x.data[i] > 0 ? dy.data[i] * scale : 0;
  },
  nan_to_num: unary(nanToNum),
  affine: unary<"affine">((x, { mul, add }) => x * mul + add),
  add: binary((a, b) => a + b),
  sub: binary((a, b) => a - b),
  mul: binary((a, b) => a * b),
  div: binary((a, b) => a / b),
  eq: binary((a, b) => (a === b ? 1 : 0)),
  sum,
  max,
  argmax,
  expand,
  one_hot: oneHot,
  mse_loss: mseLoss,
  mse_loss_grad: mseLossGrad,
  matmul,
  conv2d,
  conv2d_grad_input: conv2dGradInput,
  conv2d_grad_weight: conv2dGradWeight,
  max_pool2d: maxPool2d,
  max_pool2d_grad: maxPool2dGrad,
  avg_pool2d: avgPool2d,
  avg_pool2d_grad: avgPool2dGrad,
  bn_stats: bnStats,
  batch_norm: batchNorm,
  batch_norm_grad: batchNormGrad,
  bn_running: bnRunning,
  agd_terms: agdTerms,
  agd_eta: agdEta,
  agd_update: agdUpdate,
};
