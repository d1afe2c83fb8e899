/**
 * The definitions of the matrix product: each op's shape rule, CPU reference,
 * gradient, WebGPU kernel and wasm kernel.
 *
 * @module
 */
import { defineOps, type OpDefinitions } from "../op_def.ts";
import { MATMUL_CPU } from "./cpu.ts";
import { MATMUL_GPU_KERNELS } from "./gpu.ts";
import { MATMUL_GRADS } from "./grad.ts";
import { MATMUL_SHAPES, type MatmulAttrs } from "./primitives.ts";
import { MATMUL_WASM } from "./wasm.ts";

/** Every matmul primitive, defined on every backend. */
export const MATMUL_DEFINITIONS: OpDefinitions<keyof MatmulAttrs> = defineOps({
  shape: MATMUL_SHAPES,
  cpu: MATMUL_CPU,
  grad: MATMUL_GRADS,
  webgpu: MATMUL_GPU_KERNELS,
  wasm: MATMUL_WASM,
});
