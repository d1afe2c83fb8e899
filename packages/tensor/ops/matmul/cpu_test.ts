// matmul's CPU reference in all four transpose layouts, on hand-computed
// values and against PyTorch's linear layer (tests/fixtures/ops.safetensors).
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import type { CpuInput } from "../../backend/cpu/kernel.ts";
import { assertClose } from "../../testing/assert.ts";
import { f, loadOpsFixture, run } from "../../testing/cpu_reference.ts";

/** PyTorch's golden values for the ops (tests/fixtures/ops.safetensors). */
const fixture = await loadOpsFixture();

/** A [r, c] matrix transposed into a new [c, r] input. */
function transposed(m: CpuInput): CpuInput {
  const [r, c] = m.shape;
  const t = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[j * r + i] = m.data[i * c + j];
  return { data: t, shape: [c, r], dtype: "float32" };
}

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
