/**
 * Every op of every fast backend against the CPU reference, from one test
 * file: the wasm backend and each WebGPU implementation (Deno's, Dawn) run
 * the same checks on random inputs whose sizes miss the SIMD, tile and
 * vector widths, with NaN and infinities where the reference defines them.
 * What only one backend has (device loss; wasm's thread counts) is tested
 * beside it, in `webgpu/kernels_test.ts` and `wasm/wasm_backend_test.ts`;
 * one family's kernel variants beside the family (`ops/matmul/gpu_test.ts`).
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  checkKernel,
  CONV_CASES,
  type ConvCase,
  convCases,
  type HostInput,
  matmulCases,
  POOL_CASES,
  RandomInputs,
} from "../testing/kernel_check.ts";
import type { OpAttrs, OpName } from "../ops/op_name.ts";
import { type Shape, sizeOf } from "../shape.ts";
import type { Tolerance } from "../testing/assert.ts";
import { FAST_DEVICES, type TestDevice } from "../testing/devices.ts";
import { OP_NAMES, OPS } from "../ops/registry.ts";

const random = new RandomInputs(1);
const randn = (shape: Shape) => random.randn(shape);
const randint = (shape: Shape, low: number, high: number) => random.randint(shape, low, high);

/** Registers every op check on one device. */
function opTests(device: TestDevice): void {
  const options = { ignore: device.ignore, sanitizeOps: false, sanitizeResources: false };
  const tested = new Set<OpName>();
  /** Checks `op` on the device's shared backend against the CPU reference. */
  const check = async <P extends OpName>(
    op: P,
    inputs: HostInput[],
    attrs: OpAttrs[P],
    tol: Tolerance = {},
  ): Promise<void> => {
    tested.add(op);
    await checkKernel(await device.backend(), op, inputs, attrs, tol);
  };

  Deno.test(`unary ops (${device.name})`, options, async () => {
    const shape = [3, 5, 7];
    for (const op of ["neg", "exp", "relu"] as const) {
      await check(op, [randn(shape)], {});
    }
    const special = randn(shape);
    special.data.set([0, -1, -0, Infinity, -Infinity, NaN, 1e-30]);
    const positive = randn(shape);
    positive.data.forEach((v, i) => (positive.data[i] = Math.abs(v) + 1e-3));
    await check("log", [positive], {}, { rtol: 2e-4 });
    await check("log", [special], {}, { atol: 2e-5 });
    await check("sqrt", [special], {});
    await check("sqrt", [positive], {});
    await check("nan_to_num", [special], {});
    await check("relu", [special], {});
    await check("affine", [randn(shape)], { mul: -2.5, add: 0.75 });
    await check("scaled_relu", [randn(shape)], { scale: Math.SQRT2 });
    await check("scaled_relu", [special], { scale: 3 });
    await check("relu_grad", [randn(shape), special], { scale: 1 });
    await check("relu_grad", [randn([4099]), randn([4099])], { scale: -0.5 });
    await check("exp", [randn([1])], {});
    await check("neg", [randn([4099])], {});
  });

  Deno.test(`binary ops with broadcasting (${device.name})`, options, async () => {
    const pairs: [Shape, Shape][] = [
      [[4, 9], [4, 9]],
      [[7], [7]],
      [[2, 3, 4, 5], [3, 1, 5]],
      [[2, 6, 5, 3], [1, 6, 1, 1]],
      [[1, 6, 1, 1], [2, 6, 5, 3]],
      [[], [5, 6]],
      [[6, 1], [1, 7]],
      [[2, 1, 3, 1, 2, 3], [1, 4, 1, 5, 1, 3]],
      [[33, 1], [33]],
    ];
    for (const [sa, sb] of pairs) {
      for (const op of ["add", "sub", "mul"] as const) await check(op, [randn(sa), randn(sb)], {});
      const b = randn(sb);
      b.data.forEach((v, i) => (b.data[i] = v >= 0 ? v + 0.5 : v - 0.5));
      await check("div", [randn(sa), b], {});
      await check("eq", [randint(sa, 0, 3), randint(sb, 0, 3)], {});
    }
  });

  Deno.test(`sum and max over axes (${device.name})`, options, async () => {
    const cases: [Shape, number[]][] = [
      [[2, 3, 4], [0, 2]],
      [[2, 3, 4], [1]],
      [[2, 3, 4], [-1]],
      [[2, 3, 4], [2, 0]],
      [[2, 3, 4], [0, 1, 2]],
      [[2, 3, 4], []],
      [[4, 6, 5, 7], [0, 2, 3]],
      [[4, 6, 5, 7], [1]],
      [[2, 3, 2, 3, 2, 3], [1, 3, 5]],
      [[2, 3, 2, 3, 2, 3], [0, 2, 4]],
      [[300, 10], [0]],
      [[300, 10], [1]],
      [[64, 1024], [0]],
      [[3, 5000], [1]],
      [[8, 4, 48, 48], [0, 2, 3]],
      [[7], [0]],
    ];
    for (const [shape, axes] of cases) {
      const long = sizeOf(shape) / Math.max(1, sizeOf(shape.filter((_, i) => !axes.includes(i))));
      await check("sum", [randn(shape)], { axes }, { atol: 1e-4, rtol: long > 1000 ? 1e-3 : 1e-4 });
      await check("max", [randn(shape)], { axes });
    }
    const inf = { data: new Float32Array(12).fill(-Infinity), shape: [3, 4] };
    await check("max", [inf], { axes: [1] });
    const nan = randn([3, 40]);
    nan.data[45] = NaN;
    await check("max", [nan], { axes: [1] });
  });

  Deno.test(`argmax, first on ties (${device.name})`, options, async () => {
    await check("argmax", [randint([7, 13], 0, 4)], {});
    await check("argmax", [randn([2, 3, 5])], {});
    await check("argmax", [randn([300, 1])], {});
    const nan = randn([2, 6]);
    nan.data[3] = NaN;
    await check("argmax", [nan], {});
  });

  Deno.test(`expand and one_hot (${device.name})`, options, async () => {
    await check("expand", [randn([3, 1])], { shape: [2, 3, 4] });
    await check("expand", [randn([])], { shape: [3, 3] });
    await check("expand", [randn([2, 1, 5])], { shape: [2, 3, 5] });
    await check("expand", [{ data: new Int32Array([1, -2, 3, 4, 5]), shape: [1, 5] }], {
      shape: [4, 5],
    });
    const labels = { data: new Int32Array([-1, 0, 3, 9, 10, 2]), shape: [6] };
    await check("one_hot", [labels], { classes: 10, value: 0.9 });
  });

  Deno.test(`the fused square loss and its gradient (${device.name})`, options, async () => {
    // [300, 10] takes the one workgroup's loop around more than once; labels
    // outside [0, classes) have no target, as one_hot gives them a zero row.
    for (const [n, c] of [[6, 10], [300, 10], [3, 1000]]) {
      const labels = { data: new Int32Array(n).map((_, i) => (i * 7) % (c + 2) - 1), shape: [n] };
      const x = randn([n, c]);
      await check("mse_loss", [x, labels], { value: Math.sqrt(c) }, { rtol: 1e-5 });
      await check("mse_loss_grad", [randn([]), x, labels], { value: Math.sqrt(c) });
    }
    // The mean of nothing is NaN, as in PyTorch.
    const empty = { data: new Float32Array(0), shape: [0, 10] };
    await check("mse_loss", [empty, { data: new Int32Array(0), shape: [0] }], { value: 1 });
  });

  Deno.test(`matmul, all transposes, sizes off every tile (${device.name})`, options, async () => {
    const sizes: [number, number, number][] = [
      [37, 53, 29],
      [1, 1, 1],
      [130, 600, 70],
      [65, 17, 64],
      [3, 5, 130],
      [70, 128, 64],
      [300, 64, 192],
    ];
    for (const c of matmulCases(randn, sizes)) {
      await check(c.op, c.inputs, c.attrs, { atol: 1e-4, rtol: 1e-3 });
    }
  });

  Deno.test(
    `conv2d and its gradients: strides, padding, kernel shapes (${device.name})`,
    options,
    async () => {
      const cases: ConvCase[] = [...CONV_CASES];
      for (const c of convCases(randn, cases)) {
        await check(c.op, c.inputs, c.attrs, { atol: 1e-4, rtol: 1e-3 });
      }
    },
  );

  Deno.test(`pools and their gradients (${device.name})`, options, async () => {
    for (const [xs, kernel, stride, padding] of POOL_CASES) {
      const attrs = { kernel, stride, padding };
      for (const x of [randn(xs), randint(xs, 0, 3)]) {
        await check("max_pool2d", [x], attrs);
        await check("avg_pool2d", [x], attrs);
        const out = OPS.max_pool2d.shape([xs], ["float32"], attrs).shape;
        const dy = randn(out);
        await check("max_pool2d_grad", [x, dy], attrs);
        await check("avg_pool2d_grad", [dy], { ...attrs, inputHW: [xs[2], xs[3]] });
      }
    }
  });

  Deno.test(
    `batch norm statistics, normalisation, gradient and running stats (${device.name})`,
    options,
    async () => {
      // Trailing sizes that are and are not multiples of 4, a 2-D input, and
      // channels long enough to be split (16·32·32 per channel).
      const shapes: Shape[] = [[4, 6, 5, 3], [2, 3, 8, 8], [300, 7], [16, 2, 32, 32]];
      for (const shape of shapes) {
        const x = randn(shape);
        // An offset far from 0 checks the variance does not cancel.
        x.data.forEach((v, i) => (x.data[i] = 100 + 3 * v));
        await check("bn_stats", [x], {}, { rtol: 1e-4, atol: 1e-4 });
        const spec = OPS.bn_stats.shape([shape], ["float32"], {});
        const stats = { data: new Float32Array(sizeOf(spec.shape)), shape: spec.shape };
        OPS.bn_stats.cpu([{ ...x, dtype: "float32" }], {}, stats);
        await check("batch_norm", [x, stats], { eps: 1e-5 }, { atol: 1e-4, rtol: 1e-3 });
        await check("batch_norm_grad", [randn(shape), x, stats], { eps: 1e-5 }, {
          atol: 1e-4,
          rtol: 1e-3,
        });
        const running = randn([shape[1]]);
        await check("bn_running", [running, stats], { row: 1, momentum: 0.1, correction: 1.5 });
        await check("bn_running", [running, stats], { row: 0, momentum: 0.25, correction: 1 });
      }
    },
  );

  Deno.test(`AGD's fused terms, η and update (${device.name})`, options, async () => {
    const zero = { data: new Float32Array(6 * 5 * 3), shape: [6, 5, 3] };
    // Single-slice tensors go in groups of 4 (terms4): six of them make a full
    // and a partial group, interleaved with conv-shaped ones; [260, 260] spans
    // several terms4 workgroups, and [300, 220, 1, 2] has more rows than one
    // terms workgroup takes (split plus finish).
    const grads = [
      randn([7, 5]),
      randn([6, 4, 3, 3]),
      zero,
      randn([260, 260]),
      randn([3, 1]),
      randn([300, 220, 1, 2]),
      randn([1, 9]),
      randn([5, 5]),
      randn([2, 2]),
    ];
    const weights = [0.5, 1.25, 2, 0.01, 3, 0.02, 0.7, 1, 0.1];
    // Pooled buffers are padded to 16 bytes and the padding is not zeroed: leave
    // large values there for the inputs (released buffers are reused) to inherit.
    const backend = await device.backend();
    for (const grad of grads) {
      const padded = Math.ceil(grad.data.length / 4) * 4;
      backend.release(backend.upload(new Float32Array(padded).fill(1e3)));
    }
    await check("agd_terms", grads, { weights }, { rtol: 2e-4 });
    const terms = randn([7]);
    terms.data.forEach((v, i) => (terms.data[i] = Math.abs(v)));
    await check("agd_eta", [terms], {});
    const big = { data: new Float32Array(3000).map((_, i) => (i % 7) / 7), shape: [3000] };
    await check("agd_eta", [big], {}, { rtol: 2e-4 });
    const eta = { data: new Float32Array([0.3]), shape: [] };
    // Slice 1 of the conv weight has a zero gradient, so a zero term: it stays at rest.
    const packed = { data: new Float32Array([0.7, 1.5, 0, 2, 0.25, 3, 1, 1, 0.5, 4]), shape: [10] };
    const w = randn([6, 4, 3, 3]);
    const g = randn([6, 4, 3, 3]);
    g.data.forEach((_, i) => i % 9 === 1 && (g.data[i] = 0));
    await check("agd_update", [w, g, packed, eta], { offset: 1, mul: 0.8 });
    await check("agd_update", [randn([7, 5]), randn([7, 5]), packed, eta], { offset: 9, mul: 2 });
  });

  Deno.test(`every op is covered (${device.name})`, options, () => {
    assert.deepEqual(OP_NAMES.filter((op) => !tested.has(op)), []);
  });
}

for (const device of FAST_DEVICES) opTests(device);
