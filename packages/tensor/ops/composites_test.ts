// The fused batch norm (bn_stats → batch_norm, gradient batch_norm_grad) and
// running-statistic update against the composites of elementwise ops and
// reductions they replace, on the CPU reference and on each WebGPU implementation.
import * as t from "../mod.ts";
import { assertClose } from "../testing/assert.ts";
import { TEST_DEVICES } from "../testing/devices.ts";

/** Batch norm as the composite of primitives (the former implementation). */
function compositeBatchNorm(x: t.Tensor, eps: number) {
  const axes = x.shape.length === 4 ? [0, 2, 3] : [0];
  const mean = t.mean(x, { axes, keepDims: true });
  const centered = t.sub(x, mean);
  const variance = t.mean(t.square(centered), { axes, keepDims: true });
  return { y: t.div(centered, t.sqrt(t.add(variance, eps))), mean, variance };
}

/** y and ∂(Σ y·r)/∂x of a batch norm. */
async function run(
  backend: t.Backend,
  data: Float32Array,
  shape: number[],
  bn: (x: t.Tensor) => t.Tensor,
): Promise<{ y: Float32Array; dx: Float32Array }> {
  const x = t.tensor(data, { shape, backend, requiresGrad: true });
  const r = t.tensor(new t.Rng(9).normals(data.length), { shape, backend });
  const y = t.tidy(() => {
    const y = bn(x);
    t.backward(t.sum(t.mul(y, r)));
    return y;
  });
  const out = { y: await y.data() as Float32Array, dx: await x.grad!.data() as Float32Array };
  [x, x.grad!, r, y].forEach((v) => v.dispose());
  return out;
}

for (const device of TEST_DEVICES) {
  for (const shape of [[8, 3, 6, 6], [4, 5, 3, 3], [64, 6]]) {
    Deno.test({
      name: `fused batch norm matches the composite for [${shape}] (${device.name})`,
      ignore: device.ignore,
      fn: async () => {
        const backend = await device.backend();
        const data = new t.Rng(4).normals(shape.reduce((a, b) => a * b)).map((v) => 5 + 2 * v);
        const eps = 1e-5;
        const fused = await run(backend, data, shape, (x) => t.batchNormTrain(x, eps).y);
        const ref = await run(backend, data, shape, (x) => compositeBatchNorm(x, eps).y);
        const tol = { atol: 1e-4, rtol: 1e-3 };
        assertClose(fused.y, ref.y, { ...tol, label: "y" });
        assertClose(fused.dx, ref.dx, { ...tol, label: "dx" });

        // Statistics and PyTorch's running update (momentum 0.1, unbiased variance).
        const x = t.tensor(data, { shape, backend });
        const running = t.tensor([...Array(shape[1]).keys()], { backend });
        const { y, stats } = t.batchNormTrain(x, eps);
        const { mean, variance } = compositeBatchNorm(x, eps);
        const count = x.size / shape[1];
        const correction = count / (count - 1);
        const next = t.updateRunningStat(running, stats, { row: 1, momentum: 0.1, correction });
        const expected = t.add(
          t.affine(running, { mul: 0.9 }),
          t.affine(variance.reshape([-1]), { mul: 0.1 * correction }),
        );
        const [m, v] = [await mean.data(), await variance.data()];
        const s = await stats.data();
        assertClose(s.subarray(0, shape[1]), m, { ...tol, label: "mean" });
        assertClose(s.subarray(shape[1]), v, { ...tol, label: "variance" });
        assertClose(await next.data(), await expected.data(), { ...tol, label: "running_var" });
        [x, running, y, stats, mean, variance, next, expected].forEach((v) => v.dispose());
      },
    });
  }
}

for (const device of TEST_DEVICES) {
  Deno.test({
    name: `fused square loss matches the composite, value and gradient (${device.name})`,
    ignore: device.ignore,
    fn: async () => {
      const backend = await device.backend();
      const [n, classes] = [300, 10];
      const data = new t.Rng(5).normals(n * classes);
      const labels = t.tensor(Int32Array.from({ length: n }, (_, i) => (i * 7) % classes), {
        backend,
      });
      const run = async (loss: (x: t.Tensor) => t.Tensor) => {
        const x = t.tensor(data, { shape: [n, classes], backend, requiresGrad: true });
        const value = t.tidy(() => {
          const l = loss(x);
          t.backward(l);
          return l;
        });
        const out = { value: await value.data(), dx: await x.grad!.data() };
        [x, x.grad!, value].forEach((v) => v.dispose());
        return out;
      };
      const fused = await run((x) => t.mseLoss(x, labels));
      const ref = await run((x) =>
        t.mean(t.square(t.sub(x, t.oneHot(labels, classes, Math.sqrt(classes)))))
      );
      const tol = { atol: 1e-6, rtol: 1e-5 };
      assertClose(fused.value, ref.value, { ...tol, label: "loss" });
      assertClose(fused.dx, ref.dx, { ...tol, label: "dx" });
      labels.dispose();
    },
  });
}
