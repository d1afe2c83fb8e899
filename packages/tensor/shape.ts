/**
 * Shapes, dtypes and the output-shape rule of every primitive op. The rules
 * also validate inputs, so a bad call fails here with a readable message
 * before any kernel runs.
 *
 * @module
 */
import type { OpAttrs, OpName, PoolAttrs } from "./op_name.ts";

/** Element types a tensor can hold: float32 data, int32 labels. */
export type DType = "float32" | "int32";

/** A tensor's dimensions, outermost first (NCHW for images). */
export type Shape = readonly number[];

/** The number of elements of a shape. */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a shape, in elements. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** `[2, 3]` as text, for error messages. */
export function showShape(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}

/** The numpy broadcast of two shapes, or an error naming both. */
export function broadcastShapes(a: Shape, b: Shape, op = "broadcast"): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(
        `Cannot ${op} shapes ${showShape(a)} and ${showShape(b)}: dimension ${i} is ${da} vs ${db}`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Strides to read `shape` as if broadcast to `out` (0 along broadcast dims),
 * one per dim of `out`.
 */
export function broadcastStrides(shape: Shape, out: Shape): number[] {
  const own = stridesOf(shape);
  const offset = out.length - shape.length;
  return out.map((_, i) => {
    const j = i - offset;
    return j < 0 || shape[j] === 1 ? 0 : own[j];
  });
}

/** Normalise axes (negative counts from the end), sorted and unique. */
export function normalizeAxes(axes: readonly number[], rank: number): number[] {
  const out = new Set<number>();
  for (const a of axes) {
    const b = a < 0 ? a + rank : a;
    if (b < 0 || b >= rank) throw new Error(`Axis ${a} is out of range for rank ${rank}`);
    out.add(b);
  }
  return [...out].sort((x, y) => x - y);
}

/** Output spatial size of a conv or pool window along one dimension. */
export function windowOut(size: number, kernel: number, stride: number, pad: number): number {
  return Math.floor((size + 2 * pad - kernel) / stride) + 1;
}

/** The output shape and dtype of an op. */
export interface OutSpec {
  /** Output dimensions. */
  shape: number[];
  /** Output element type. */
  dtype: DType;
}

/**
 * The shape rule of op `P`: the output shape and dtype from the input shapes,
 * dtypes and attributes; throws when the inputs do not fit the op. Every
 * backend allocates outputs from these, so kernels never compute shapes.
 */
export type ShapeRule<P extends OpName> = (
  shapes: Shape[],
  dtypes: DType[],
  attrs: OpAttrs[P],
) => OutSpec;

/** Checks a loss's (x [N, C] float32, labels [N] int32) inputs. */
function lossInputs(op: string, shapes: Shape[], dtypes: DType[]): void {
  const [x, labels] = shapes;
  if (
    x.length !== 2 || labels.length !== 1 || labels[0] !== x[0] || dtypes[0] !== "float32" ||
    dtypes[1] !== "int32"
  ) {
    throw new Error(
      `Cannot ${op} ${dtypes[0]} ${showShape(x)} with ${dtypes[1]} labels ${showShape(labels)}: ` +
        "expected float32 [N, C] and int32 [N]",
    );
  }
}

function float(...dtypes: DType[]): void {
  for (const d of dtypes) {
    if (d !== "float32") throw new Error(`Expected float32 input, got ${d}`);
  }
}

const unary = (shapes: Shape[], dtypes: DType[]): OutSpec => {
  float(dtypes[0]);
  return { shape: [...shapes[0]], dtype: "float32" };
};

function binary(op: string) {
  return (shapes: Shape[], dtypes: DType[]): OutSpec => {
    float(...dtypes);
    return { shape: broadcastShapes(shapes[0], shapes[1], op), dtype: "float32" };
  };
}

function reduce(shapes: Shape[], dtypes: DType[], attrs: { axes: number[] }): OutSpec {
  float(dtypes[0]);
  const axes = normalizeAxes(attrs.axes, shapes[0].length);
  return { shape: shapes[0].map((d, i) => (axes.includes(i) ? 1 : d)), dtype: "float32" };
}

function need4d(op: string, ...shapes: Shape[]): void {
  for (const s of shapes) {
    if (s.length !== 4) throw new Error(`Cannot ${op} shape ${showShape(s)}: expected NCHW (4-D)`);
  }
}

function pool(op: string) {
  return (shapes: Shape[], dtypes: DType[], a: PoolAttrs): OutSpec => {
    float(dtypes[0]);
    need4d(op, shapes[0]);
    const [n, c, h, w] = shapes[0];
    const oh = windowOut(h, a.kernel[0], a.stride[0], a.padding[0]);
    const ow = windowOut(w, a.kernel[1], a.stride[1], a.padding[1]);
    if (oh < 1 || ow < 1) {
      throw new Error(
        `Cannot ${op} ${showShape(shapes[0])} with kernel ${a.kernel}: output is empty`,
      );
    }
    return { shape: [n, c, oh, ow], dtype: "float32" };
  };
}

/** Checks that `stats` is the [2, C] of bn_stats for x [N, C, ...]. */
function needStats(op: string, x: Shape, stats: Shape): void {
  if (x.length < 2 || stats.length !== 2 || stats[0] !== 2 || stats[1] !== x[1]) {
    throw new Error(
      `Cannot ${op} x ${showShape(x)} with stats ${
        showShape(stats)
      }: expected x [N, C, ...] and stats [2, C]`,
    );
  }
}

/** Output shape and dtype of every primitive, validating its inputs. */
export const SHAPE_RULES: { [P in OpName]: ShapeRule<P> } = {
  neg: unary,
  exp: unary,
  log: unary,
  sqrt: unary,
  relu: unary,
  scaled_relu: unary,
  relu_grad: (shapes, dtypes) => {
    float(...dtypes);
    const [dy, x] = shapes;
    if (dy.join() !== x.join()) {
      throw new Error(
        `Cannot relu_grad dy ${showShape(dy)} with x ${showShape(x)}: expected equal shapes`,
      );
    }
    return { shape: [...x], dtype: "float32" };
  },
  nan_to_num: unary,
  affine: unary,
  add: binary("add"),
  sub: binary("sub"),
  mul: binary("mul"),
  div: binary("div"),
  eq: binary("compare"),
  sum: reduce,
  max: reduce,
  argmax: (shapes, dtypes) => {
    float(dtypes[0]);
    if (shapes[0].length < 1) throw new Error("Cannot argmax a scalar");
    return { shape: shapes[0].slice(0, -1), dtype: "int32" };
  },
  expand: (shapes, dtypes, a) => {
    const out = broadcastShapes(shapes[0], a.shape, "expand");
    if (out.join() !== a.shape.join()) {
      throw new Error(`Cannot expand ${showShape(shapes[0])} to ${showShape(a.shape)}`);
    }
    return { shape: out, dtype: dtypes[0] };
  },
  one_hot: (shapes, dtypes, a) => {
    if (dtypes[0] !== "int32" || shapes[0].length !== 1) {
      throw new Error(
        `Cannot one_hot ${dtypes[0]} ${showShape(shapes[0])}: expected int32 [N] labels`,
      );
    }
    return { shape: [shapes[0][0], a.classes], dtype: "float32" };
  },
  mse_loss: (shapes, dtypes) => {
    lossInputs("mse_loss", shapes, dtypes);
    return { shape: [], dtype: "float32" };
  },
  mse_loss_grad: (shapes, dtypes) => {
    if (shapes[0].length !== 0 || dtypes[0] !== "float32") {
      throw new Error(`Cannot mse_loss_grad dy ${showShape(shapes[0])}: expected a float32 scalar`);
    }
    lossInputs("mse_loss_grad", shapes.slice(1), dtypes.slice(1));
    return { shape: [...shapes[1]], dtype: "float32" };
  },
  matmul: (shapes, dtypes, a) => {
    float(...dtypes);
    const [x, y] = shapes;
    if (x.length !== 2 || y.length !== 2) {
      throw new Error(`Cannot matmul shapes ${showShape(x)} and ${showShape(y)}: expected 2-D`);
    }
    const [m, k] = a.transA ? [x[1], x[0]] : [x[0], x[1]];
    const [k2, n] = a.transB ? [y[1], y[0]] : [y[0], y[1]];
    if (k !== k2) {
      throw new Error(
        `Cannot matmul shapes ${showShape(x)} and ${showShape(y)}` +
          `${
            a.transA || a.transB ? ` (transA ${a.transA}, transB ${a.transB})` : ""
          }: inner dimensions differ`,
      );
    }
    return { shape: [m, n], dtype: "float32" };
  },
  conv2d: (shapes, dtypes, a) => {
    float(...dtypes);
    const [x, w] = shapes;
    need4d("conv2d", x, w);
    if (x[1] !== w[1]) {
      throw new Error(
        `Cannot conv2d input ${showShape(x)} with weight ${showShape(w)}: input has ${
          x[1]
        } channels, weight expects ${w[1]}`,
      );
    }
    const oh = windowOut(x[2], w[2], a.stride[0], a.padding[0]);
    const ow = windowOut(x[3], w[3], a.stride[1], a.padding[1]);
    if (oh < 1 || ow < 1) {
      throw new Error(`Cannot conv2d ${showShape(x)} with kernel ${showShape(w)}: output is empty`);
    }
    return { shape: [x[0], w[0], oh, ow], dtype: "float32" };
  },
  conv2d_grad_input: (shapes, dtypes, a) => {
    float(...dtypes);
    const [dy, w] = shapes;
    need4d("conv2d_grad_input", dy, w);
    return { shape: [dy[0], w[1], a.inputHW[0], a.inputHW[1]], dtype: "float32" };
  },
  conv2d_grad_weight: (shapes, dtypes, a) => {
    float(...dtypes);
    const [x, dy] = shapes;
    need4d("conv2d_grad_weight", x, dy);
    return { shape: [dy[1], x[1], a.kernel[0], a.kernel[1]], dtype: "float32" };
  },
  max_pool2d: pool("max_pool2d"),
  max_pool2d_grad: (shapes, dtypes) => {
    float(...dtypes);
    return { shape: [...shapes[0]], dtype: "float32" };
  },
  avg_pool2d: pool("avg_pool2d"),
  avg_pool2d_grad: (shapes, dtypes, a) => {
    float(...dtypes);
    const [n, c] = shapes[0];
    return { shape: [n, c, a.inputHW[0], a.inputHW[1]], dtype: "float32" };
  },
  bn_stats: (shapes, dtypes) => {
    float(dtypes[0]);
    if (shapes[0].length < 2) {
      throw new Error(`Cannot bn_stats shape ${showShape(shapes[0])}: expected [N, C, ...]`);
    }
    return { shape: [2, shapes[0][1]], dtype: "float32" };
  },
  batch_norm: (shapes, dtypes) => {
    float(...dtypes);
    needStats("batch_norm", shapes[0], shapes[1]);
    return { shape: [...shapes[0]], dtype: "float32" };
  },
  batch_norm_grad: (shapes, dtypes) => {
    float(...dtypes);
    const [dy, x, stats] = shapes;
    if (dy.join() !== x.join()) {
      throw new Error(
        `Cannot batch_norm_grad dy ${showShape(dy)} with x ${showShape(x)}: expected equal shapes`,
      );
    }
    needStats("batch_norm_grad", x, stats);
    return { shape: [...x], dtype: "float32" };
  },
  bn_running: (shapes, dtypes, a) => {
    float(...dtypes);
    const [running, stats] = shapes;
    if (
      running.length !== 1 || stats.length !== 2 || running[0] !== stats[1] ||
      !(a.row >= 0 && a.row < stats[0])
    ) {
      throw new Error(
        `Cannot bn_running ${showShape(running)} from stats ${showShape(stats)} row ${a.row}: ` +
          `expected [C] and [2, C]`,
      );
    }
    return { shape: [...running], dtype: "float32" };
  },
  agd_terms: (shapes, dtypes, a) => {
    float(...dtypes);
    if (shapes.length === 0 || a.weights.length !== shapes.length) {
      throw new Error(
        `Cannot agd_terms ${shapes.length} tensors with ${a.weights.length} weights: give one weight per tensor`,
      );
    }
    let total = 0;
    for (const s of shapes) {
      if (s.length < 2) {
        throw new Error(`Cannot agd_terms shape ${showShape(s)}: expected rank ≥ 2`);
      }
      total += sizeOf(s.slice(2));
    }
    return { shape: [total], dtype: "float32" };
  },
  agd_eta: (shapes, dtypes) => {
    float(dtypes[0]);
    if (shapes[0].length !== 1) {
      throw new Error(`Cannot agd_eta shape ${showShape(shapes[0])}: expected the 1-D terms`);
    }
    return { shape: [], dtype: "float32" };
  },
  agd_update: (shapes, dtypes, a) => {
    float(...dtypes);
    const [w, g, terms, eta] = shapes;
    if (w.length < 2 || w.join() !== g.join()) {
      throw new Error(
        `Cannot agd_update weight ${showShape(w)} with gradient ${
          showShape(g)
        }: expected equal shapes of rank ≥ 2`,
      );
    }
    const slices = sizeOf(w.slice(2));
    if (terms.length !== 1 || a.offset < 0 || a.offset + slices > terms[0]) {
      throw new Error(
        `Cannot agd_update ${showShape(w)} from terms ${showShape(terms)} at offset ${a.offset}: ` +
          `it needs ${slices} terms there`,
      );
    }
    if (sizeOf(eta) !== 1) {
      throw new Error(`Cannot agd_update with η of shape ${showShape(eta)}: expected one element`);
    }
    return { shape: [...w], dtype: "float32" };
  },
};
