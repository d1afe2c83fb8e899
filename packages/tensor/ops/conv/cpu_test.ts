// conv2d's CPU reference and its two gradient kernels: hand-computed values,
// gradients against central finite differences, and PyTorch's values
// (tests/fixtures/ops.safetensors).
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { assertClose } from "../../testing/assert.ts";
import { f, loadOpsFixture, numericGrad, rand, run } from "../../testing/cpu_reference.ts";

/** PyTorch's golden values for the ops (tests/fixtures/ops.safetensors). */
const fixture = await loadOpsFixture();

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
