/**
 * The definitions of max and average pooling and their gradients: each op's shape rule, CPU reference,
 * gradient, WebGPU kernel and wasm kernel.
 *
 * @module
 */
import { defineOps, type OpDefinitions } from "../op_def.ts";
import { POOL_CPU } from "./cpu.ts";
import { POOL_GPU_KERNELS } from "./gpu.ts";
import { POOL_GRADS } from "./grad.ts";
import { POOL_SHAPES, type PoolOpAttrs } from "./primitives.ts";
import { POOL_WASM } from "./wasm.ts";

/** Every pool primitive, defined on every backend. */
export const POOL_DEFINITIONS: OpDefinitions<keyof PoolOpAttrs> = defineOps({
  shape: POOL_SHAPES,
  cpu: POOL_CPU,
  grad: POOL_GRADS,
  webgpu: POOL_GPU_KERNELS,
  wasm: POOL_WASM,
});
