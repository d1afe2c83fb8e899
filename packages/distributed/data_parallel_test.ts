import { deepStrictEqual } from "node:assert/strict";
import { planBuckets } from "./data_parallel.ts";

Deno.test("planBuckets: last parameters first, a big one alone, nothing lost", () => {
  deepStrictEqual(planBuckets([4, 4, 4], 8), [[2, 1], [0]]);
  deepStrictEqual(planBuckets([1, 100, 1], 8), [[2], [1], [0]]);
  deepStrictEqual(planBuckets([3, 3], Infinity), [[1, 0]]);
  deepStrictEqual(planBuckets([], 8), []);
});

Deno.test("planBuckets: an observed gradient order is followed", () => {
  deepStrictEqual(planBuckets([4, 4, 4], 8, [1, 2, 0]), [[1, 2], [0]]);
});
