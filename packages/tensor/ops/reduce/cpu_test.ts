// The reductions' CPU reference on hand-computed values: sum and max over
// axes, and argmax's tie and NaN rules.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { f, run } from "../../testing/cpu_reference.ts";

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
