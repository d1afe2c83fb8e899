/**
 * The definitions of batch norm's statistics, normalisation, gradient and running update: each op's shape rule, CPU reference,
 * gradient, WebGPU kernel and wasm kernel.
 *
 * @module
 */
import { defineOps, type OpDefinitions } from "../op_def.ts";
import { NORM_CPU } from "./cpu.ts";
import { NORM_GPU_KERNELS } from "./gpu.ts";
import { NORM_GRADS } from "./grad.ts";
import { NORM_SHAPES, type NormAttrs } from "./primitives.ts";
import { NORM_WASM } from "./wasm.ts";

/** Every norm primitive, defined on every backend. */
export const NORM_DEFINITIONS: OpDefinitions<keyof NormAttrs> = defineOps({
  shape: NORM_SHAPES,
  cpu: NORM_CPU,
  grad: NORM_GRADS,
  webgpu: NORM_GPU_KERNELS,
  wasm: NORM_WASM,
});
