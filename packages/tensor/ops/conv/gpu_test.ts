/**
 * Every WebGPU conv2d variant (`CONV_VARIANTS`: tiled and texture) and its
 * gradients against the CPU reference, once per WebGPU implementation
 * (Deno's, Dawn); ignored only where an implementation has no adapter.
 *
 * @module
 */
import {
  checkKernel,
  CONV_CASES,
  type ConvCase,
  convCases,
  RandomInputs,
} from "../../testing/kernel_check.ts";
import type { Shape } from "../../shape.ts";
import { GPU_DEVICES } from "../../testing/devices.ts";
import { CONV_VARIANTS } from "./gpu.ts";

const random = new RandomInputs(1);
const randn = (shape: Shape) => random.randn(shape);

for (const device of GPU_DEVICES) {
  const options = { ignore: device.ignore, sanitizeOps: false, sanitizeResources: false };
  for (const variant of Object.keys(CONV_VARIANTS)) {
    Deno.test(`conv2d (${variant}) and its gradients (${device.name})`, options, async () => {
      const g = await device.create({ variants: { conv2d: variant } });
      try {
        const cases: ConvCase[] = [...CONV_CASES, [[4, 3, 16, 16], [8, 3, 3, 3], [1, 1], [1, 1]]];
        for (const c of convCases(randn, cases)) {
          await checkKernel(g, c.op, c.inputs, c.attrs, { atol: 1e-4, rtol: 1e-3 });
        }
      } finally {
        g.destroy();
      }
    });
  }
}
