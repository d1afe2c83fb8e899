import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { OpAttrs, OpName } from "../../ops/op_name.ts";
import { type DType, type Shape, sizeOf } from "../../shape.ts";
import type { TypedArray } from "../backend.ts";
import type { CpuInput } from "./kernel.ts";
import { broadcastIndex } from "./indexing.ts";
import { loadFixture } from "../../testing/fixtures.ts";
import { assertClose } from "../../testing/assert.ts";
import { OP_NAMES, opDefinition } from "../../ops/registry.ts";

// ---------------------------------------------------------------------------
// Helpers

/** A float32 input from numbers. */
function f(data: number[] | Float32Array, shape: Shape): CpuInput {
  assertEquals(data.length, sizeOf(shape));
  return { data: Float32Array.from(data), shape, dtype: "float32" };
}

/** An int32 input from numbers. */
function i32(data: number[], shape: Shape): CpuInput {
  return { data: Int32Array.from(data), shape, dtype: "int32" };
}

/** Runs op `op` through SHAPE_RULES and its CPU kernel, like the backend does. */
function run<P extends OpName>(
  op: P,
  inputs: CpuInput[],
  attrs: OpAttrs[P],
): { data: TypedArray; shape: number[]; dtype: DType } {
  const spec = opDefinition(op).shape(
    inputs.map((x) => x.shape),
    inputs.map((x) => x.dtype),
    attrs,
  );
  const size = sizeOf(spec.shape);
  const data = spec.dtype === "int32" ? new Int32Array(size) : new Float32Array(size);
  opDefinition(op).cpu(inputs, attrs, { data, shape: spec.shape });
  return { data, shape: spec.shape, dtype: spec.dtype };
}

/** Deterministic pseudo-random values in [-1, 1) (a small LCG). */
function rand(n: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** Distinct values (a shuffled 0.1-spaced grid) so max pooling has no near ties. */
function distinct(n: number, seed = 7): Float32Array {
  const keys = rand(n, seed);
  const order = [...keys.keys()].sort((a, b) => keys[a] - keys[b]);
  const out = new Float32Array(n);
  order.forEach((idx, rank) => (out[idx] = (rank - n / 2) * 0.1));
  return out;
}

/**
 * The central finite-difference gradient of L(x) = sum(forward(x) · dy) with
 * respect to x, computed in float64 from the float32 forward kernel.
 */
function numericGrad(
  forward: (x: Float32Array) => ArrayLike<number>,
  x: Float32Array,
  dy: ArrayLike<number>,
  eps = 1e-2,
): Float64Array {
  const loss = (v: Float32Array) => {
    const y = forward(v);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i] * dy[i];
    return s;
  };
  const grad = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x.slice();
    v[i] = x[i] + eps;
    const up = loss(v);
    v[i] = x[i] - eps;
    grad[i] = (up - loss(v)) / (2 * eps);
  }
  return grad;
}

/** PyTorch's golden values for the ops (tests/fixtures/ops.safetensors). */
const OPS = await loadFixture("ops.safetensors");
function fixture(name: string, part: string): CpuInput {
  const key = `${name}.${part}`;
  return { data: OPS.f32(key), shape: OPS.shape(key), dtype: "float32" };
}

/** A [r, c] matrix transposed into a new [c, r] input. */
function transposed(m: CpuInput): CpuInput {
  const [r, c] = m.shape;
  const t = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[j * r + i] = m.data[i * c + j];
  return { data: t, shape: [c, r], dtype: "float32" };
}

// ---------------------------------------------------------------------------
// Coverage

Deno.test("every op has a CPU reference", () => {
  for (const op of OP_NAMES) assertEquals(typeof opDefinition(op).cpu, "function", op);
});

Deno.test("broadcastIndex maps each output element to its source", () => {
  assertEquals([...broadcastIndex([2, 1], [2, 3])], [0, 0, 0, 1, 1, 1]);
  assertEquals([...broadcastIndex([3], [2, 3])], [0, 1, 2, 0, 1, 2]);
  assertEquals([...broadcastIndex([], [2])], [0, 0]);
});

// ---------------------------------------------------------------------------
// Elementwise

Deno.test("unary ops", () => {
  const x = f([-2, -0.5, 0, 1, 4], [5]);
  assertClose(run("neg", [x], {}).data, [2, 0.5, -0, -1, -4]);
  assertClose(run("exp", [x], {}).data, [-2, -0.5, 0, 1, 4].map(Math.exp));
  assertClose(run("relu", [x], {}).data, [0, 0, 0, 1, 4]);
  assertClose(run("affine", [x], { mul: 2, add: 1 }).data, [-3, 0, 1, 3, 9]);
  const y = run("log", [f([0, 1, Math.E, -1], [4])], {}).data;
  assertEquals(y[0], -Infinity);
  assertEquals(y[1], 0);
  assertClose([y[2]], [1]);
  assert(Number.isNaN(y[3]));
  const s = run("sqrt", [f([0, 4, 2.25, -1], [4])], {}).data;
  assertEquals([...s.subarray(0, 3)], [0, 2, 1.5]);
  assert(Number.isNaN(s[3]));
});

Deno.test("nan_to_num maps NaN to 0 and ±Inf to ±float32 max", () => {
  const y = run("nan_to_num", [f([NaN, Infinity, -Infinity, 1.5, -0], [5])], {}).data;
  const max = 3.4028234663852886e38;
  assertEquals([...y], [0, max, -max, 1.5, -0]);
  assertEquals(new Float32Array([max])[0], max); // representable: no rounding to Inf
});

Deno.test("binary ops broadcast [2,1,3] with [4,1] to [2,4,3]", () => {
  const a = f([1, 2, 3, 4, 5, 6], [2, 1, 3]);
  const b = f([10, 20, 30, 40], [4, 1]);
  const add = run("add", [a, b], {});
  assertEquals(add.shape, [2, 4, 3]);
  const expected: number[] = [];
  for (let i = 0; i < 2; i++) {
    for (let j = 0; j < 4; j++) {
      for (let k = 0; k < 3; k++) expected.push(a.data[i * 3 + k] + b.data[j]);
    }
  }
  assertEquals([...add.data], expected);
  assertEquals([...add.data.subarray(0, 6)], [11, 12, 13, 21, 22, 23]);
  assertEquals([...run("sub", [b, a], {}).data.subarray(0, 3)], [9, 8, 7]);
});

Deno.test("sub, mul, div, eq with a scalar and a row", () => {
  const a = f([1, 2, 3, 4], [2, 2]);
  assertEquals([...run("sub", [a, f([1], [])], {}).data], [0, 1, 2, 3]);
  assertEquals([...run("mul", [a, f([2, 3], [2])], {}).data], [2, 6, 6, 12]);
  assertEquals([...run("div", [a, f([2, 4], [2])], {}).data], [0.5, 0.5, 1.5, 1]);
  assertEquals([...run("eq", [a, f([1, 4], [2])], {}).data], [1, 0, 0, 1]);
  const d = run("div", [f([1, -1, 0], [3]), f([0], [1])], {}).data;
  assertEquals([d[0], d[1]], [Infinity, -Infinity]);
  assert(Number.isNaN(d[2]));
  assertEquals([...run("eq", [f([NaN], [1]), f([NaN], [1])], {}).data], [0]);
});

// ---------------------------------------------------------------------------
// Reductions

Deno.test("sum over axes [0, 2] keeps size-1 dims", () => {
  const x = f(Array.from({ length: 24 }, (_, i) => i), [2, 3, 4]);
  const y = run("sum", [x], { axes: [2, 0] });
  assertEquals(y.shape, [1, 3, 1]);
  // row j: sum over i, k of 12i + 4j + k = 2·(0+1+2+3) + 8·4j... computed directly:
  assertEquals([...y.data], [0, 1, 2].map((j) => (0 + 6 + 16 * j) + (48 + 6 + 16 * j)));
  assertEquals([...run("sum", [x], { axes: [-1] }).data.subarray(0, 2)], [6, 22]);
  assertEquals([...run("sum", [x], { axes: [0, 1, 2] }).data], [276]);
  assertEquals([...run("sum", [x], { axes: [] }).data], [...x.data]);
});

Deno.test("max over axes, -inf sets and NaN", () => {
  const x = f([1, 5, 2, 7, -3, 0], [2, 3]);
  assertEquals([...run("max", [x], { axes: [1] }).data], [5, 7]);
  assertEquals([...run("max", [x], { axes: [0] }).data], [7, 5, 2]);
  assertEquals([...run("max", [x], { axes: [-2, -1] }).data], [7]);
  assertEquals([...run("max", [f([-Infinity, -Infinity], [2])], { axes: [0] }).data], [-Infinity]);
  assert(Number.isNaN(run("max", [f([1, NaN, 3], [3])], { axes: [0] }).data[0]));
});

Deno.test("argmax picks the first of tied maxima along the last axis", () => {
  const y = run("argmax", [f([1, 3, 3, 0, 9, 9, 9, 2, -1, -1, -5, -1], [2, 2, 3])], {});
  assertEquals(y.shape, [2, 2]);
  assert(y.data instanceof Int32Array);
  assertEquals([...y.data], [1, 1, 0, 0]);
  assertEquals([...run("argmax", [f([-Infinity, -Infinity], [2])], {}).data], [0]);
  assertEquals([...run("argmax", [f([1, NaN, 5, NaN], [4])], {}).data], [1]);
});

// ---------------------------------------------------------------------------
// Data movement

Deno.test("expand broadcasts and preserves dtype", () => {
  const y = run("expand", [f([1, 2], [2, 1])], { shape: [2, 3] });
  assertEquals([...y.data], [1, 1, 1, 2, 2, 2]);
  const z = run("expand", [i32([7, 8, 9], [3])], { shape: [2, 1, 3] });
  assert(z.data instanceof Int32Array);
  assertEquals(z.shape, [2, 1, 3]);
  assertEquals([...z.data], [7, 8, 9, 7, 8, 9]);
});

Deno.test("one_hot puts value at the label and zero rows for out-of-range labels", () => {
  const y = run("one_hot", [i32([2, 0, 3, -1, 1], [5])], { classes: 3, value: 2.5 });
  assertEquals(y.shape, [5, 3]);
  assertEquals([...y.data], [0, 0, 2.5, 2.5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2.5, 0]);
});

// ---------------------------------------------------------------------------
// Matmul

Deno.test("matmul of 2×3 by 3×2, in all four transpose layouts", () => {
  const a = f([1, 2, 3, 4, 5, 6], [2, 3]);
  const b = f([7, 8, 9, 10, 11, 12], [3, 2]);
  const expected = [58, 64, 139, 154];
  const at = transposed(a);
  const bt = transposed(b);
  assertEquals([...run("matmul", [a, b], { transA: false, transB: false }).data], expected);
  assertEquals([...run("matmul", [at, b], { transA: true, transB: false }).data], expected);
  assertEquals([...run("matmul", [a, bt], { transA: false, transB: true }).data], expected);
  const both = run("matmul", [at, bt], { transA: true, transB: true });
  assertEquals(both.shape, [2, 2]);
  assertEquals([...both.data], expected);
});

Deno.test("matmul with K = 1 and a non-square transA", () => {
  // [3,1] · [1,2] = outer product
  const y = run("matmul", [f([1, 2, 3], [1, 3]), f([4, 5], [1, 2])], {
    transA: true,
    transB: false,
  });
  assertEquals(y.shape, [3, 2]);
  assertEquals([...y.data], [4, 5, 8, 10, 12, 15]);
});

// ---------------------------------------------------------------------------
// Convolution

Deno.test("conv2d of a 1×1×3×3 image with a known kernel", () => {
  const x = f([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
  const w = f([1, 0, 0, -1], [1, 1, 2, 2]); // x[i][j] − x[i+1][j+1]
  const valid = run("conv2d", [x, w], { stride: [1, 1], padding: [0, 0] });
  assertEquals(valid.shape, [1, 1, 2, 2]);
  assertEquals([...valid.data], [-4, -4, -4, -4]);
  const padded = run("conv2d", [x, f([0, 0, 0, 0, 1, 0, 0, 0, 2], [1, 1, 3, 3])], {
    stride: [2, 2],
    padding: [1, 1],
  });
  // center tap x[i][j] plus 2·x[i+1][j+1], at output cells (0,0),(0,2),(2,0),(2,2)
  assertEquals(padded.shape, [1, 1, 2, 2]);
  assertEquals([...padded.data], [1 + 2 * 5, 3, 7, 9]);
});

Deno.test("conv2d sums over input channels and maps output channels", () => {
  const x = f([1, 2, 3, 4, 10, 20, 30, 40], [1, 2, 2, 2]);
  const w = f([1, 1, 0, -1], [2, 2, 1, 1]); // o0 = c0 + c1, o1 = −c1
  const y = run("conv2d", [x, w], { stride: [1, 1], padding: [0, 0] });
  assertEquals([...y.data], [11, 22, 33, 44, -10, -20, -30, -40]);
});

const CONV_CASES: { stride: [number, number]; padding: [number, number]; k: [number, number] }[] = [
  { stride: [1, 1], padding: [1, 1], k: [3, 3] },
  { stride: [2, 2], padding: [1, 1], k: [3, 3] },
  { stride: [2, 1], padding: [0, 2], k: [2, 3] }, // H=6: (6−2)/2 leaves no remainder, W odd
  { stride: [3, 2], padding: [1, 0], k: [3, 2] }, // stride > 1 with a lost remainder
];

for (const { stride, padding, k } of CONV_CASES) {
  Deno.test(`conv2d grads match finite differences (stride ${stride}, pad ${padding}, k ${k})`, () => {
    const [n, c, h, wd, o] = [2, 2, 6, 5, 3];
    const x = f(rand(n * c * h * wd, 3), [n, c, h, wd]);
    const w = f(rand(o * c * k[0] * k[1], 5), [o, c, k[0], k[1]]);
    const y = run("conv2d", [x, w], { stride, padding });
    const dy = f(rand(y.data.length, 11), y.shape);
    const dx = run("conv2d_grad_input", [dy, w], { stride, padding, inputHW: [h, wd] });
    assertEquals(dx.shape, [...x.shape]);
    const numX = numericGrad(
      (v) => run("conv2d", [f(v, x.shape), w], { stride, padding }).data,
      x.data as Float32Array,
      dy.data,
    );
    assertClose(dx.data, numX, { atol: 1e-3, rtol: 1e-3, label: "dx" });
    const dw = run("conv2d_grad_weight", [x, dy], { stride, padding, kernel: k });
    assertEquals(dw.shape, [...w.shape]);
    const numW = numericGrad(
      (v) => run("conv2d", [x, f(v, w.shape)], { stride, padding }).data,
      w.data as Float32Array,
      dy.data,
    );
    assertClose(dw.data, numW, { atol: 1e-3, rtol: 1e-3, label: "dw" });
  });
}

// ---------------------------------------------------------------------------
// Pooling

Deno.test("max_pool2d takes each window's max; padding is never chosen", () => {
  const x = f([-1, -2, -3, -4, -5, -6, -7, -8, -9], [1, 1, 3, 3]);
  const y = run("max_pool2d", [x], { kernel: [2, 2], stride: [2, 2], padding: [1, 1] });
  assertEquals(y.shape, [1, 1, 2, 2]);
  assertEquals([...y.data], [-1, -2, -4, -5]);
  const z = run("max_pool2d", [f([1, 5, 3, 2, 0, 4, 8, 6, 7], [1, 1, 3, 3])], {
    kernel: [2, 2],
    stride: [1, 1],
    padding: [0, 0],
  });
  assertEquals([...z.data], [5, 5, 8, 7]);
});

Deno.test("max_pool2d_grad sends dy to the first max and accumulates overlaps", () => {
  // 2×2 windows with stride 1 over a 2×3 plane of ties: window 0 covers
  // columns 0-1, window 1 columns 1-2; both pick their first (top-left) cell.
  const x = f([3, 3, 3, 3, 3, 3], [1, 1, 2, 3]);
  const attrs = { kernel: [2, 2], stride: [1, 1], padding: [0, 0] } as OpAttrs["max_pool2d"];
  const dx = run("max_pool2d_grad", [x, f([10, 100], [1, 1, 1, 2])], attrs);
  assertEquals([...dx.data], [10, 100, 0, 0, 0, 0]);
  // a shared max collects both windows' dy
  const y = f([0, 9, 0, 1, 2, 1], [1, 1, 2, 3]);
  assertEquals([...run("max_pool2d_grad", [y, f([10, 100], [1, 1, 1, 2])], attrs).data], [
    0,
    110,
    0,
    0,
    0,
    0,
  ]);
  // ties in a later row: ky outer, kx inner, so (0,1) beats (1,0)
  const t = f([0, 5, 5, 5], [1, 1, 2, 2]);
  assertEquals(
    [...run("max_pool2d_grad", [t, f([1], [1, 1, 1, 1])], attrs).data],
    [0, 1, 0, 0],
  );
});

Deno.test("avg_pool2d with padding divides by kh·kw", () => {
  const x = f([1, 2, 3, 4], [1, 1, 2, 2]);
  const y = run("avg_pool2d", [x], { kernel: [2, 2], stride: [1, 1], padding: [1, 1] });
  assertEquals(y.shape, [1, 1, 3, 3]);
  assertEquals([...y.data], [1 / 4, 3 / 4, 2 / 4, 4 / 4, 10 / 4, 6 / 4, 3 / 4, 7 / 4, 4 / 4]);
  const g = run("avg_pool2d", [f([1, 2, 3, 4, 5, 6], [1, 1, 2, 3])], {
    kernel: [2, 3],
    stride: [1, 1],
    padding: [0, 0],
  });
  assertEquals([...g.data], [21 / 6]);
});

Deno.test("avg_pool2d_grad spreads dy / (kh·kw) over each window", () => {
  const dy = f([4, 8, 12, 16, 20, 24, 28, 32, 36], [1, 1, 3, 3]);
  const dx = run("avg_pool2d_grad", [dy], {
    kernel: [2, 2],
    stride: [1, 1],
    padding: [1, 1],
    inputHW: [2, 2],
  });
  // input (iy, ix) is in windows oy ∈ {iy, iy+1}, ox ∈ {ix, ix+1}
  assertEquals([...dx.data], [
    (4 + 8 + 16 + 20) / 4,
    (8 + 12 + 20 + 24) / 4,
    (16 + 20 + 28 + 32) / 4,
    (20 + 24 + 32 + 36) / 4,
  ]);
});

const POOL_CASES: {
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
}[] = [
  { kernel: [3, 3], stride: [2, 2], padding: [1, 1] },
  { kernel: [2, 2], stride: [2, 2], padding: [0, 0] },
  { kernel: [3, 2], stride: [1, 2], padding: [1, 0] },
  { kernel: [2, 3], stride: [3, 1], padding: [0, 1] },
];

for (const attrs of POOL_CASES) {
  Deno.test(`pool grads match finite differences (k ${attrs.kernel}, s ${attrs.stride}, p ${attrs.padding})`, () => {
    const shape = [2, 2, 7, 6];
    const x = f(distinct(sizeOf(shape)), shape);
    const y = run("max_pool2d", [x], attrs);
    const dy = f(rand(y.data.length, 13), y.shape);
    const dxMax = run("max_pool2d_grad", [x, dy], attrs);
    const numMax = numericGrad(
      (v) => run("max_pool2d", [f(v, shape)], attrs).data,
      x.data as Float32Array,
      dy.data,
    );
    assertClose(dxMax.data, numMax, { atol: 1e-3, rtol: 1e-3, label: "max" });
    const dxAvg = run("avg_pool2d_grad", [dy], { ...attrs, inputHW: [7, 6] });
    const numAvg = numericGrad(
      (v) => run("avg_pool2d", [f(v, shape)], attrs).data,
      x.data as Float32Array,
      dy.data,
    );
    assertClose(dxAvg.data, numAvg, { atol: 1e-3, rtol: 1e-3, label: "avg" });
  });
}

// ---------------------------------------------------------------------------
// PyTorch fixtures

const CONV_FIXTURES: [string, [number, number], [number, number]][] = [
  ["conv3x3_s1_p1", [1, 1], [1, 1]],
  ["conv3x3_s2_p1", [2, 2], [1, 1]],
  ["conv1x1_s2_p0", [2, 2], [0, 0]],
  ["conv7x7_s2_p3", [2, 2], [3, 3]],
];

for (const [name, stride, padding] of CONV_FIXTURES) {
  Deno.test(`conv2d and its grads match PyTorch: ${name}`, () => {
    const x = fixture(name, "in0");
    const w = fixture(name, "in1");
    const dy = fixture(name, "grad_out");
    const y = run("conv2d", [x, w], { stride, padding });
    assertEquals(y.shape, fixture(name, "out").shape);
    assertClose(y.data, fixture(name, "out").data, { label: `${name}.out` });
    const dx = run("conv2d_grad_input", [dy, w], {
      stride,
      padding,
      inputHW: [x.shape[2], x.shape[3]],
    });
    assertClose(dx.data, fixture(name, "grad_in0").data, { label: `${name}.grad_in0` });
    const dw = run("conv2d_grad_weight", [x, dy], {
      stride,
      padding,
      kernel: [w.shape[2], w.shape[3]],
    });
    assertClose(dw.data, fixture(name, "grad_in1").data, { label: `${name}.grad_in1` });
  });
}

const POOL_FIXTURES: [string, "max" | "avg", (h: number, w: number) => OpAttrs["max_pool2d"]][] = [
  ["maxpool3_s2_p1", "max", () => ({ kernel: [3, 3], stride: [2, 2], padding: [1, 1] })],
  ["maxpool2_s2", "max", () => ({ kernel: [2, 2], stride: [2, 2], padding: [0, 0] })],
  ["avgpool4", "avg", () => ({ kernel: [4, 4], stride: [4, 4], padding: [0, 0] })],
  ["adaptive_avgpool1", "avg", (h, w) => ({ kernel: [h, w], stride: [h, w], padding: [0, 0] })],
];

for (const [name, kind, attrsFor] of POOL_FIXTURES) {
  Deno.test(`${kind} pool and its grad match PyTorch: ${name}`, () => {
    const x = fixture(name, "in0");
    const [h, w] = [x.shape[2], x.shape[3]];
    const attrs = attrsFor(h, w);
    const dy = fixture(name, "grad_out");
    const y = run(kind === "max" ? "max_pool2d" : "avg_pool2d", [x], attrs);
    assertEquals(y.shape, fixture(name, "out").shape);
    assertClose(y.data, fixture(name, "out").data, { label: `${name}.out` });
    const dx = kind === "max"
      ? run("max_pool2d_grad", [x, dy], attrs)
      : run("avg_pool2d_grad", [dy], { ...attrs, inputHW: [h, w] });
    assertClose(dx.data, fixture(name, "grad_in0").data, { label: `${name}.grad_in0` });
  });
}

Deno.test("matmul matches PyTorch linear (x·Wᵀ) in all four layouts, with grads", () => {
  const x = fixture("linear", "in0"); // [5, 7]
  const w = fixture("linear", "in1"); // [3, 7]
  const dy = fixture("linear", "grad_out"); // [5, 3]
  const out = fixture("linear", "out").data;
  const xt = transposed(x);
  const wt = transposed(w);
  const layouts: [CpuInput, CpuInput, boolean, boolean][] = [
    [x, wt, false, false],
    [xt, wt, true, false],
    [x, w, false, true],
    [xt, w, true, true],
  ];
  for (const [a, b, transA, transB] of layouts) {
    const y = run("matmul", [a, b], { transA, transB });
    assertEquals(y.shape, [5, 3]);
    assertClose(y.data, out, { label: `transA ${transA}, transB ${transB}` });
  }
  // dx = dy·W, dW = dyᵀ·x
  const dx = run("matmul", [dy, w], { transA: false, transB: false });
  assertClose(dx.data, fixture("linear", "grad_in0").data, { label: "grad_in0" });
  const dw = run("matmul", [dy, x], { transA: true, transB: false });
  assertClose(dw.data, fixture("linear", "grad_in1").data, { label: "grad_in1" });
});
