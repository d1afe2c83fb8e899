/**
 * The definitions of the data-movement primitives (expand, one_hot) (no SIMD kernel: the wasm backend runs the reference loop): each op's shape rule, CPU reference,
 * gradient, WebGPU kernel and wasm kernel.
 *
 * @module
 */
import { REFERENCE } from "../../backend/wasm/kernel.ts";
import { defineOps, type OpDefinitions } from "../op_def.ts";
import { MISC_CPU } from "./cpu.ts";
import { MISC_GPU_KERNELS } from "./gpu.ts";
import { MISC_GRADS } from "./grad.ts";
import { MISC_SHAPES, type MiscAttrs } from "./primitives.ts";

/** Every misc primitive, defined on every backend. */
export const MISC_DEFINITIONS: OpDefinitions<keyof MiscAttrs> = defineOps({
  shape: MISC_SHAPES,
  cpu: MISC_CPU,
  grad: MISC_GRADS,
  webgpu: MISC_GPU_KERNELS,
  wasm: {
    expand: REFERENCE,
    one_hot: REFERENCE,
  },
});
