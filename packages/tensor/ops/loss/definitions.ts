/**
 * The definitions of the loss primitives (MSE against labels, and its gradient) (no SIMD kernel: the wasm backend runs the reference loop): each op's shape rule, CPU reference,
 * gradient, WebGPU kernel and wasm kernel.
 *
 * @module
 */
import { REFERENCE } from "../../backend/wasm/kernel.ts";
import { defineOps, type OpDefinitions } from "../op_def.ts";
import { LOSS_CPU } from "./cpu.ts";
import { LOSS_GPU_KERNELS } from "./gpu.ts";
import { LOSS_GRADS } from "./grad.ts";
import { LOSS_SHAPES, type LossAttrs } from "./primitives.ts";

/** Every loss primitive, defined on every backend. */
export const LOSS_DEFINITIONS: OpDefinitions<keyof LossAttrs> = defineOps({
  shape: LOSS_SHAPES,
  cpu: LOSS_CPU,
  grad: LOSS_GRADS,
  webgpu: LOSS_GPU_KERNELS,
  wasm: {
    mse_loss: REFERENCE,
    mse_loss_grad: REFERENCE,
  },
});
