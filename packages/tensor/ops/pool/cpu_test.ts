// The pooling ops' CPU reference and their gradient kernels: hand-computed
// values, gradients against central finite differences, and PyTorch's values
// (tests/fixtures/ops.safetensors).
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import type { OpAttrs } from "../op_name.ts";
import { sizeOf } from "../../shape.ts";
import { assertClose } from "../../testing/assert.ts";
import { f, loadOpsFixture, numericGrad, rand, run } from "../../testing/cpu_reference.ts";

/** PyTorch's golden values for the ops (tests/fixtures/ops.safetensors). */
const fixture = await loadOpsFixture();

/** Distinct values (a shuffled 0.1-spaced grid) so max pooling has no near ties. */
function distinct(n: number, seed = 7): Float32Array {
  const keys = rand(n, seed);
  const order = [...keys.keys()].sort((a, b) => keys[a] - keys[b]);
  const out = new Float32Array(n);
  order.forEach((idx, rank) => (out[idx] = (rank - n / 2) * 0.1));
  return out;
}

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
