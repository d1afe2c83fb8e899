/**
 * Every WGSL kernel against the CPU reference on random inputs (sizes chosen
 * to miss the tile and vector widths), plus the runtime's pool, error and
 * device-loss behaviour, once per WebGPU implementation (Deno's, Dawn); each
 * implementation's tests are ignored only where it has no adapter.
 *
 * @module
 */
import assert from "node:assert/strict";
import { OP_NAMES, type OpAttrs, type OpName } from "../../op_name.ts";
import { type DType, type Shape, SHAPE_RULES, sizeOf } from "../../shape.ts";
import { Rng } from "../../random.ts";
import { assertClose, type Tolerance } from "../../testing/assert.ts";
import type { TypedArray } from "../backend.ts";
import { CPU_KERNELS } from "../cpu/kernels.ts";
import type { CpuKernel } from "../cpu/kernel.ts";
import { type GpuStorage, poolSize, type WebGpuBackend } from "./webgpu_backend.ts";
import { GPU_DEVICES, type GpuTestDevice } from "../../testing/devices.ts";
import type { GpuKernel } from "./context.ts";
import { CONV_VARIANTS, MATMUL_VARIANTS } from "./kernels.ts";

let seed = 1;

/** An op input: data and shape (dtype from the data's type). */
interface In {
  data: TypedArray;
  shape: Shape;
}

function randn(shape: Shape): In {
  return { data: new Rng(seed++).normals(sizeOf(shape)), shape };
}

/** Small integers, so that ties and equalities happen. */
function randint(shape: Shape, low: number, high: number): In {
  const rng = new Rng(seed++);
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = low + rng.int(high - low);
  return { data, shape };
}

function dtypeOf(data: TypedArray): DType {
  return data instanceof Int32Array ? "int32" : "float32";
}

/** Runs `op` on `g` and the CPU reference and compares the outputs. */
async function checkOn<P extends OpName>(
  g: WebGpuBackend,
  op: P,
  inputs: In[],
  attrs: OpAttrs[P],
  tol: Tolerance = {},
): Promise<void> {
  const dtypes = inputs.map((i) => dtypeOf(i.data));
  const spec = SHAPE_RULES[op](inputs.map((i) => i.shape), dtypes, attrs);
  const size = sizeOf(spec.shape);
  const expected = spec.dtype === "int32" ? new Int32Array(size) : new Float32Array(size);
  (CPU_KERNELS[op] as CpuKernel<P>)(
    inputs.map((i, k) => ({ data: i.data, shape: i.shape, dtype: dtypes[k] })),
    attrs,
    { data: expected, shape: spec.shape },
  );
  const storages = inputs.map((i) => g.upload(i.data));
  const out = g.run(
    op,
    storages.map((s, k) => ({ storage: s, shape: inputs[k].shape, dtype: dtypes[k] })),
    attrs,
    spec,
  );
  const actual = await g.read(out, spec.dtype, size);
  for (const s of [...storages, out]) g.release(s);
  const label = `${op} ${inputs.map((i) => `[${i.shape}]`).join(" ")} ${JSON.stringify(attrs)}`;
  assert.equal(actual.constructor, expected.constructor, label);
  if (spec.dtype === "int32") {
    assert.deepEqual(Array.from(actual), Array.from(expected), label);
  } else {
    assertClose(actual, expected, { atol: 1e-5, rtol: 1e-4, ...tol, label });
  }
}

Deno.test("poolSize rounds to 16 bytes, then to 8 classes per power of two", () => {
  assert.deepEqual(poolSize(0), 16);
  assert.deepEqual(poolSize(4), 16);
  assert.deepEqual(poolSize(17), 32);
  assert.deepEqual(poolSize(65536), 65536);
  assert.deepEqual(poolSize(65537), 65536 + 8192);
  assert.deepEqual(poolSize(100_000), 106496);
  for (let b = 1; b < 1e7; b = Math.ceil(b * 1.37)) {
    const p = poolSize(b);
    assert.ok(p >= b && p % 16 === 0 && p <= Math.max(16, b * 1.125 + 16), `${b} → ${p}`);
  }
});

/** Registers every kernel and runtime test on one WebGPU implementation. */
function kernelTests(device: GpuTestDevice): void {
  const options = { ignore: device.ignore, sanitizeOps: false, sanitizeResources: false };
  const tested = new Set<OpName>();
  /** The implementation's shared backend (set by the first check). */
  let gpu: WebGpuBackend | undefined;
  /** Checks `op` on `g` (default: the shared backend) against the CPU reference. */
  const check = async <P extends OpName>(
    op: P,
    inputs: In[],
    attrs: OpAttrs[P],
    tol: Tolerance = {},
    g?: WebGpuBackend,
  ): Promise<void> => {
    tested.add(op);
    gpu ??= await device.backend();
    await checkOn(g ?? gpu, op, inputs, attrs, tol);
  };

  Deno.test(`the backend runs on its implementation (${device.name})`, options, async () => {
    const g = await device.backend();
    assert.equal(g.implementation, device.implementation);
    const { vendor, architecture, description } = g.adapterInfo;
    const limits = g.device.limits;
    console.log(
      `${device.name}: ${description || "(no description)"}, vendor ${vendor || "?"}${
        architecture ? `, ${architecture}` : ""
      }; ${limits.maxStorageBuffersPerShaderStage} storage buffers per stage, ${limits.maxComputeWorkgroupStorageSize} B workgroup memory, ${limits.maxStorageBufferBindingSize} B per binding; variants ${
        JSON.stringify(g.variants())
      }`,
    );
  });

  if (device.implementation === "deno") {
    // Dawn's instance is created with SwiftShader added to the Vulkan drivers
    // (see adapter.ts): that must not leak into wgpu's choice, here or in the
    // other test modules running in parallel in this process.
    Deno.test(
      `the adapter is the one Deno picks without Dawn (${device.name})`,
      options,
      async () => {
        const { stdout } = await new Deno.Command(Deno.execPath(), {
          args: [
            "eval",
            "--unstable-webgpu",
            "console.log((await navigator.gpu.requestAdapter())?.info.description ?? '')",
          ],
          stdout: "piped",
          stderr: "null",
        }).output();
        assert.equal(device.adapter, new TextDecoder().decode(stdout).trim());
      },
    );
  }

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

  for (const variant of Object.keys(MATMUL_VARIANTS)) {
    Deno.test(
      `matmul (${variant}), all transposes, non-tile sizes (${device.name})`,
      options,
      async () => {
        const g = await device.create({ variants: { matmul: variant } });
        try {
          assert.equal(g.variants().matmul, variant);
          const sizes: [number, number, number][] = [
            [37, 53, 29],
            [1, 1, 1],
            [130, 600, 70],
            [65, 17, 64],
            [3, 5, 130],
            // Aligned rows: the texture variant copies operands instead of packing
            // them (transposed ones are read transposed by main_tex).
            [70, 128, 64],
            [300, 64, 192],
            [128, 36, 70],
            [192, 64, 128],
          ];
          for (const [m, k, n] of sizes) {
            for (const transA of [false, true]) {
              for (const transB of [false, true]) {
                const a = randn(transA ? [k, m] : [m, k]);
                const b = randn(transB ? [n, k] : [k, n]);
                await check("matmul", [a, b], { transA, transB }, { atol: 1e-4, rtol: 1e-3 }, g);
              }
            }
          }
        } finally {
          g.destroy();
        }
      },
    );
  }

  Deno.test(`matmul on the autotuned variant (${device.name})`, options, async () => {
    const a = randn([70, 40]);
    const b = randn([40, 90]);
    await check("matmul", [a, b], { transA: false, transB: false }, { atol: 1e-4, rtol: 1e-3 });
    assert.ok(Object.keys(MATMUL_VARIANTS).includes((await device.backend()).variants().matmul));
  });

  for (const variant of Object.keys(CONV_VARIANTS)) {
    Deno.test(`conv2d (${variant}) and its gradients (${device.name})`, options, async () => {
      const g = await device.create({ variants: { conv2d: variant } });
      try {
        const cases: [Shape, Shape, [number, number], [number, number]][] = [
          [[2, 3, 9, 11], [4, 3, 3, 3], [1, 1], [1, 1]],
          [[2, 3, 16, 16], [5, 3, 7, 7], [2, 2], [3, 3]],
          [[2, 6, 7, 9], [8, 6, 1, 1], [2, 2], [0, 0]],
          [[1, 4, 9, 9], [3, 4, 3, 3], [2, 2], [0, 0]],
          [[2, 3, 8, 10], [4, 3, 3, 2], [1, 2], [2, 0]],
          [[2, 16, 8, 8], [70, 16, 3, 3], [1, 1], [1, 1]],
          [[4, 3, 16, 16], [8, 3, 3, 3], [1, 1], [1, 1]],
        ];
        const tol = { atol: 1e-4, rtol: 1e-3 };
        for (const [xs, ws, stride, padding] of cases) {
          const x = randn(xs);
          const w = randn(ws);
          await check("conv2d", [x, w], { stride, padding }, tol, g);
          const spec = SHAPE_RULES.conv2d([xs, ws], ["float32", "float32"], { stride, padding });
          const dy = randn(spec.shape);
          const inputHW: [number, number] = [xs[2], xs[3]];
          const kernel: [number, number] = [ws[2], ws[3]];
          await check("conv2d_grad_input", [dy, w], { stride, padding, inputHW }, tol, g);
          await check("conv2d_grad_weight", [x, dy], { stride, padding, kernel }, tol, g);
        }
      } finally {
        g.destroy();
      }
    });
  }

  Deno.test(`pools and their gradients (${device.name})`, options, async () => {
    const cases: [Shape, [number, number], [number, number], [number, number]][] = [
      [[2, 3, 9, 10], [3, 3], [2, 2], [1, 1]],
      [[2, 3, 8, 8], [2, 2], [2, 2], [0, 0]],
      [[1, 2, 7, 6], [3, 3], [1, 1], [1, 1]],
      [[1, 2, 7, 9], [3, 2], [2, 1], [1, 0]],
    ];
    for (const [xs, kernel, stride, padding] of cases) {
      const attrs = { kernel, stride, padding };
      for (const x of [randn(xs), randint(xs, 0, 3)]) {
        await check("max_pool2d", [x], attrs);
        await check("avg_pool2d", [x], attrs);
        const out = SHAPE_RULES.max_pool2d([xs], ["float32"], attrs).shape;
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
        const spec = SHAPE_RULES.bn_stats([shape], ["float32"], {});
        const stats = { data: new Float32Array(sizeOf(spec.shape)), shape: spec.shape };
        (CPU_KERNELS.bn_stats as CpuKernel<"bn_stats">)([{ ...x, dtype: "float32" }], {}, stats);
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
    const gpu = await device.backend();
    for (const grad of grads) {
      const padded = Math.ceil(grad.data.length / 4) * 4;
      gpu.release(gpu.upload(new Float32Array(padded).fill(1e3)));
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

  Deno.test(`a repeated op sequence allocates nothing new (${device.name})`, options, async () => {
    const g = await device.backend();
    const step = async () => {
      const x = g.upload(new Rng(3).normals(16 * 3 * 12 * 12));
      const w = g.upload(new Rng(4).normals(8 * 3 * 3 * 3));
      const xi = { storage: x, shape: [16, 3, 12, 12], dtype: "float32" } as const;
      const wi = { storage: w, shape: [8, 3, 3, 3], dtype: "float32" } as const;
      const conv = { stride: [1, 1], padding: [1, 1] } as OpAttrs["conv2d"];
      const y = g.run("conv2d", [xi, wi], conv, { shape: [16, 8, 12, 12], dtype: "float32" });
      const yi = { storage: y, shape: [16, 8, 12, 12], dtype: "float32" } as const;
      const r = g.run("relu", [yi], {}, { shape: [...yi.shape], dtype: "float32" });
      const ri = { ...yi, storage: r };
      const s = g.run("sum", [ri], { axes: [0, 2, 3] }, { shape: [1, 8, 1, 1], dtype: "float32" });
      const dw = g.run("conv2d_grad_weight", [xi, ri], { ...conv, kernel: [3, 3] }, {
        shape: [8, 3, 3, 3],
        dtype: "float32",
      });
      const xm = { storage: x, shape: [48, 144], dtype: "float32" } as const;
      const mm = g.run("matmul", [xm, xm], { transA: true, transB: false }, {
        shape: [144, 144],
        dtype: "float32",
      });
      const total = await g.read(s, "float32", 8);
      await g.read(dw, "float32", 8 * 27);
      await g.read(mm, "float32", 144 * 144);
      for (const b of [x, w, y, r, s, dw, mm]) g.release(b);
      return total;
    };
    const first = await step();
    const before = g.memory();
    const second = await step();
    const after = g.memory();
    assert.deepEqual(after.allocations, before.allocations);
    assert.deepEqual(after.stagingAllocations, before.stagingAllocations);
    assert.deepEqual(after.pipelines, before.pipelines);
    assert.deepEqual(after.uniformBuffers, before.uniformBuffers);
    assert.deepEqual(after.textureAllocations, before.textureAllocations);
    assert.deepEqual(after.bytesInUse, before.bytesInUse);
    assert.deepEqual(Array.from(second), Array.from(first));
  });

  if (device.implementation === "dawn") {
    // Tint evaluates constant expressions and rejects a value f32 cannot
    // hold (Naga folds it to NaN): a kernel written so must fail its op here,
    // as it would in Chrome, instead of passing unnoticed.
    Deno.test(
      `a constant expression Tint rejects fails the op (${device.name})`,
      options,
      async () => {
        const nan: GpuKernel<"neg"> = (ctx, _inputs, _attrs, out) => {
          ctx.dispatch({
            label: "neg",
            code: `@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(1) fn main() { out[0] = bitcast<f32>(0x7fc00000u); }`,
            buffers: [out.buffer],
            workgroups: [1],
          });
        };
        const g = await device.create({ kernels: { neg: nan }, autotune: false });
        try {
          const x = g.upload(new Float32Array([1]));
          const y = g.run("neg", [{ storage: x, shape: [1], dtype: "float32" }], {}, {
            shape: [1],
            dtype: "float32",
          });
          await assert.rejects(() => g.read(y, "float32", 1), /op "neg".*cannot be represented/s);
        } finally {
          g.destroy();
        }
      },
    );
  }

  Deno.test(`a device error names the op (${device.name})`, options, async () => {
    const bad: GpuKernel<"neg"> = (ctx, [x], _attrs, out) => {
      ctx.dispatch({
        label: "neg",
        code: "@compute @workgroup_size(1) fn main() { let x: f32 = undefined_thing; }",
        buffers: [x.buffer, out.buffer],
        workgroups: [1],
      });
    };
    const g = await device.create({ kernels: { neg: bad } });
    try {
      const x = g.upload(new Float32Array([1, 2, 3]));
      const y = g.run("neg", [{ storage: x, shape: [3], dtype: "float32" }], {}, {
        shape: [3],
        dtype: "float32",
      });
      await assert.rejects(() => g.read(y, "float32", 3), /op "neg"/);
      // The error is reported once; the backend keeps working afterwards.
      const z = g.upload(new Float32Array([4]));
      assert.deepEqual(Array.from(await g.read(z, "float32", 1)), [4]);
    } finally {
      g.destroy();
    }
  });

  Deno.test(`a read after device loss rejects (${device.name})`, options, async () => {
    const g = await device.create();
    const x: GpuStorage = g.upload(new Float32Array([1, 2]));
    g.destroy();
    await assert.rejects(() => g.read(x, "float32", 2), Error);
  });
}

for (const device of GPU_DEVICES) kernelTests(device);
