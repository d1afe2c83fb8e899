// The elementwise ops' CPU reference on hand-computed values: unary ops and
// their NaN/±Inf edges, and binary ops under numpy broadcasting.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { assertClose } from "../../testing/assert.ts";
import { f, run } from "../../testing/cpu_reference.ts";

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
