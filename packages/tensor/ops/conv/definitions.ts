/**
 * The definitions of conv2d and its two backward kernels: each op's shape rule, CPU reference,
 * gradient, WebGPU kernel and wasm kernel.
 *
 * @module
 */
import { defineOps, type OpDefinitions } from "../op_def.ts";
import { CONV_CPU } from "./cpu.ts";
import { CONV_GPU_KERNELS } from "./gpu.ts";
import { CONV_GRADS } from "./grad.ts";
import { CONV_SHAPES, type ConvOpAttrs } from "./primitives.ts";
import { CONV_WASM } from "./wasm.ts";

/** Every conv primitive, defined on every backend. */
export const CONV_DEFINITIONS: OpDefinitions<keyof ConvOpAttrs> = defineOps({
  shape: CONV_SHAPES,
  cpu: CONV_CPU,
  grad: CONV_GRADS,
  webgpu: CONV_GPU_KERNELS,
  wasm: CONV_WASM,
});
