/**
 * The definitions of the reductions (sum, max over axes; argmax over rows) (no SIMD kernel: the wasm backend runs the reference loop): each op's shape rule, CPU reference,
 * gradient, WebGPU kernel and wasm kernel.
 *
 * @module
 */
import { REFERENCE } from "../../backend/wasm/kernel.ts";
import { defineOps, type OpDefinitions } from "../op_def.ts";
import { REDUCE_CPU } from "./cpu.ts";
import { REDUCE_GPU_KERNELS } from "./gpu.ts";
import { REDUCE_GRADS } from "./grad.ts";
import { REDUCE_SHAPES, type ReduceAttrs } from "./primitives.ts";

/** Every reduce primitive, defined on every backend. */
export const REDUCE_DEFINITIONS: OpDefinitions<keyof ReduceAttrs> = defineOps({
  shape: REDUCE_SHAPES,
  cpu: REDUCE_CPU,
  grad: REDUCE_GRADS,
  webgpu: REDUCE_GPU_KERNELS,
  wasm: {
    sum: REFERENCE,
    max: REFERENCE,
    argmax: REFERENCE,
  },
});
