/**
 * Every WebGPU matmul variant (`MATMUL_VARIANTS`: the tiled and texture
 * GEMMs) against the CPU reference, once per WebGPU implementation (Deno's,
 * Dawn); ignored only where an implementation has no adapter. The autotuned
 * choice is tested with the backend, in `backend/webgpu/kernels_test.ts`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { checkKernel, matmulCases, RandomInputs } from "../../testing/kernel_check.ts";
import type { Shape } from "../../shape.ts";
import { GPU_DEVICES } from "../../testing/devices.ts";
import { MATMUL_VARIANTS } from "./gpu.ts";

const random = new RandomInputs(1);
const randn = (shape: Shape) => random.randn(shape);

for (const device of GPU_DEVICES) {
  const options = { ignore: device.ignore, sanitizeOps: false, sanitizeResources: false };
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
          for (const c of matmulCases(randn, sizes)) {
            await checkKernel(g, c.op, c.inputs, c.attrs, { atol: 1e-4, rtol: 1e-3 });
          }
        } finally {
          g.destroy();
        }
      },
    );
  }
}
