/**
 * The definitions of the elementwise primitives (unary, binary with broadcasting, relu and its gradient, affine, comparison): each op's shape rule, CPU reference,
 * gradient, WebGPU kernel and wasm kernel.
 *
 * @module
 */
import { defineOps, type OpDefinitions } from "../op_def.ts";
import { ELEMENTWISE_CPU } from "./cpu.ts";
import { ELEMENTWISE_GPU_KERNELS } from "./gpu.ts";
import { ELEMENTWISE_GRADS } from "./grad.ts";
import { ELEMENTWISE_SHAPES, type ElementwiseAttrs } from "./primitives.ts";
import { ELEMENTWISE_WASM } from "./wasm.ts";

/** Every elementwise primitive, defined on every backend. */
export const ELEMENTWISE_DEFINITIONS: OpDefinitions<keyof ElementwiseAttrs> = defineOps({
  shape: ELEMENTWISE_SHAPES,
  cpu: ELEMENTWISE_CPU,
  grad: ELEMENTWISE_GRADS,
  webgpu: ELEMENTWISE_GPU_KERNELS,
  wasm: ELEMENTWISE_WASM,
});
