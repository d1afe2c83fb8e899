import { deepStrictEqual, equal } from "node:assert/strict";
import { backward, matmul, mean, mul, square, sum, tensor } from "@agd/tensor";
import { onGradComputed } from "./_node_hook.ts";
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

Deno.test("onGradComputed: reports each weight's gradient during backward, last layer first", async () => {
  // Two layers: the second one's gradient is computed before the first one's.
  const w0 = tensor([1, 2, 3, 4], { shape: [2, 2], requiresGrad: true });
  const w1 = tensor([1, -1], { shape: [2, 1], requiresGrad: true });
  const x = tensor([1, 1], { shape: [1, 2] });
  const loss = mean(square(matmul(matmul(x, w0), w1)));
  const order: number[] = [];
  const seen: unknown[] = [];
  const hooked = onGradComputed(loss, [w0, w1], (i, g) => {
    order.push(i);
    equal(w0.grad, null); // still inside backward: no leaf gradient stored yet
    seen.push(g);
  });
  deepStrictEqual([...hooked].sort(), [0, 1]);
  backward(loss);
  deepStrictEqual(order, [1, 0]);
  // The reported tensors are the ones backward then stores as grad.
  equal(seen[0], w1.grad);
  equal(seen[1], w0.grad);
  deepStrictEqual([...(await w0.grad!.data())], [-4, 4, -4, 4]);
});

Deno.test("onGradComputed: a weight used twice is left to the end (its gradient is a sum)", () => {
  const w = tensor([1, 2], { requiresGrad: true });
  const v = tensor([3, 4], { requiresGrad: true });
  const loss = sum(mul(mul(w, w), v));
  const hooked = onGradComputed(loss, [w, v], () => {});
  deepStrictEqual([...hooked], [1]);
  backward(loss);
});
