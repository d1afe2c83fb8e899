/**
 * What only the WebGPU backend has, once per WebGPU implementation (Deno's,
 * Dawn): the autotuned choice, and the runtime's pool, error and device-loss
 * behaviour; each implementation's tests are ignored only where it has no
 * adapter. The op checks every backend shares are in `../ops_test.ts`; each
 * family's kernel variants are tested beside it (`ops/matmul/gpu_test.ts`,
 * `ops/conv/gpu_test.ts`).
 *
 * @module
 */
import assert from "node:assert/strict";
import { checkKernel, type HostInput, RandomInputs } from "../../testing/kernel_check.ts";
import type { OpAttrs, OpName } from "../../ops/op_name.ts";
import type { Shape } from "../../shape.ts";
import { Rng } from "../../random.ts";
import type { Tolerance } from "../../testing/assert.ts";
import { type GpuStorage, poolSize, type WebGpuBackend } from "./webgpu_backend.ts";
import { GPU_DEVICES, type GpuTestDevice } from "../../testing/devices.ts";
import type { GpuKernel } from "./context.ts";
import { MATMUL_VARIANTS } from "../../ops/registry.ts";
import { OPS } from "../../ops/registry.ts";

const random = new RandomInputs(1);
const randn = (shape: Shape) => random.randn(shape);

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

/** Registers the autotune and runtime tests on one WebGPU implementation. */
function kernelTests(device: GpuTestDevice): void {
  const options = { ignore: device.ignore, sanitizeOps: false, sanitizeResources: false };
  /** The implementation's shared backend (set by the first check). */
  let gpu: WebGpuBackend | undefined;
  /** Checks `op` on the shared backend against the CPU reference. */
  const check = async <P extends OpName>(
    op: P,
    inputs: HostInput[],
    attrs: OpAttrs[P],
    tol: Tolerance = {},
  ): Promise<void> => {
    gpu ??= await device.backend();
    await checkKernel(gpu, op, inputs, attrs, tol);
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

  Deno.test(`matmul on the autotuned variant (${device.name})`, options, async () => {
    const a = randn([70, 40]);
    const b = randn([40, 90]);
    await check("matmul", [a, b], { transA: false, transB: false }, { atol: 1e-4, rtol: 1e-3 });
    assert.ok(Object.keys(MATMUL_VARIANTS).includes((await device.backend()).variants().matmul));
  });

  Deno.test(`a repeated op sequence allocates nothing new (${device.name})`, options, async () => {
    const g = await device.backend();
    const step = async () => {
      const x = g.upload(new Rng(3).normals(16 * 3 * 12 * 12));
      const w = g.upload(new Rng(4).normals(8 * 3 * 3 * 3));
      const xi = { storage: x, shape: [16, 3, 12, 12], dtype: "float32" } as const;
      const wi = { storage: w, shape: [8, 3, 3, 3], dtype: "float32" } as const;
      const conv = { stride: [1, 1], padding: [1, 1] } as OpAttrs["conv2d"];
      const y = g.run(OPS.conv2d, [xi, wi], conv, { shape: [16, 8, 12, 12], dtype: "float32" });
      const yi = { storage: y, shape: [16, 8, 12, 12], dtype: "float32" } as const;
      const r = g.run(OPS.relu, [yi], {}, { shape: [...yi.shape], dtype: "float32" });
      const ri = { ...yi, storage: r };
      const s = g.run(OPS.sum, [ri], { axes: [0, 2, 3] }, {
        shape: [1, 8, 1, 1],
        dtype: "float32",
      });
      const dw = g.run(OPS.conv2d_grad_weight, [xi, ri], { ...conv, kernel: [3, 3] }, {
        shape: [8, 3, 3, 3],
        dtype: "float32",
      });
      const xm = { storage: x, shape: [48, 144], dtype: "float32" } as const;
      const mm = g.run(OPS.matmul, [xm, xm], { transA: true, transB: false }, {
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
          const y = g.run(OPS.neg, [{ storage: x, shape: [1], dtype: "float32" }], {}, {
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
      const y = g.run(OPS.neg, [{ storage: x, shape: [3], dtype: "float32" }], {}, {
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
