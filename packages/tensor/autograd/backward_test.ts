import { deepStrictEqual, equal } from "node:assert/strict";
import { backward, matmul, mean, mul, square, sum, type Tensor, tensor } from "../mod.ts";

Deno.test("onGrad: each weight's gradient is reported during backward, last layer first", async () => {
  // Two layers: the second one's gradient is final before the first one's.
  const w0 = tensor([1, 2, 3, 4], { shape: [2, 2], requiresGrad: true });
  const w1 = tensor([1, -1], { shape: [2, 1], requiresGrad: true });
  const x = tensor([1, 1], { shape: [1, 2] });
  const loss = mean(square(matmul(matmul(x, w0), w1)));
  const order: number[] = [];
  const seen: Tensor[] = [];
  w0.onGrad = (g) => {
    order.push(0);
    seen.push(g);
  };
  w1.onGrad = (g) => {
    order.push(1);
    equal(w0.grad, null); // still inside backward: the first layer's gradient is not done
    seen.push(g);
  };
  backward(loss);
  deepStrictEqual(order, [1, 0]);
  // The reported tensors are the ones backward stores as grad.
  equal(seen[0], w1.grad);
  equal(seen[1], w0.grad);
  deepStrictEqual([...(await w0.grad!.data())], [-4, 4, -4, 4]);
});

Deno.test("onGrad: a weight used twice is reported once, with the summed gradient", async () => {
  const w = tensor([1, 2], { requiresGrad: true });
  const v = tensor([3, 4], { requiresGrad: true });
  const loss = sum(mul(mul(w, w), v));
  const reported: Tensor[] = [];
  w.onGrad = (g) => reported.push(g);
  backward(loss);
  equal(reported.length, 1);
  equal(reported[0], w.grad);
  // ∂(w²·v)/∂w = 2·w·v
  deepStrictEqual([...(await w.grad!.data())], [6, 16]);
});
