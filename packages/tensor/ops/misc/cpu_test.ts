// The data-movement ops' CPU reference on hand-computed values: expand and
// one_hot.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { CpuInput } from "../../backend/cpu/kernel.ts";
import type { Shape } from "../../shape.ts";
import { f, run } from "../../testing/cpu_reference.ts";

/** An int32 input from numbers. */
function i32(data: number[], shape: Shape): CpuInput {
  return { data: Int32Array.from(data), shape, dtype: "int32" };
}

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
