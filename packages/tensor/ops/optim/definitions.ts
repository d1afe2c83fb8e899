/**
 * The definitions of AGD's fused step (terms, η, update): each op's shape rule, CPU reference,
 * gradient, WebGPU kernel and wasm kernel.
 *
 * @module
 */
import { defineOps, type OpDefinitions } from "../op_def.ts";
import { OPTIM_CPU } from "./cpu.ts";
import { OPTIM_GPU_KERNELS } from "./gpu.ts";
import { OPTIM_GRADS } from "./grad.ts";
import { OPTIM_SHAPES, type OptimAttrs } from "./primitives.ts";
import { OPTIM_WASM } from "./wasm.ts";

/** Every optim primitive, defined on every backend. */
export const OPTIM_DEFINITIONS: OpDefinitions<keyof OptimAttrs> = defineOps({
  shape: OPTIM_SHAPES,
  cpu: OPTIM_CPU,
  grad: OPTIM_GRADS,
  webgpu: OPTIM_GPU_KERNELS,
  wasm: OPTIM_WASM,
});
