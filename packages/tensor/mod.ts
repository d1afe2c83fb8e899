/**
 * Tensors on WebGPU (or the CPU reference backend) with reverse-mode autograd.
 *
 * @example
 * ```ts
 * import { backward, matmul, mean, square, tensor } from "@agd/tensor";
 * const w = tensor([1, 2, 3, 4], { shape: [2, 2], requiresGrad: true });
 * const x = tensor([1, 1], { shape: [1, 2] });
 * backward(mean(square(matmul(x, w))));
 * console.log(await w.grad!.data()); // Float32Array [4, 6, 4, 6]
 * ```
 *
 * @module
 */
export { type GradNode, isGradEnabled, keep, type Kept, noGrad, Tensor, tidy } from "./tensor.ts";
export * from "./shape.ts";
export * from "./ops/op_name.ts";
export { KERNEL_VARIANTS, OP_NAMES, opDefinition, OPS, type VariantSet } from "./ops/registry.ts";
export type { OpDefinition, OpDefinitions, OpParts } from "./ops/op_def.ts";
export type { Backend, KernelInput, MemoryInfo, OpKernels, TypedArray } from "./backend/backend.ts";
export { CpuBackend } from "./backend/cpu/cpu_backend.ts";
// Types only: the WebGPU backend module loads on first use (device.ts), so
// CPU-only programs never load it; createWebGpuBackend makes one directly.
export type {
  GpuCounters,
  GpuMemoryInfo,
  GpuStorage,
  WebGpuBackend,
  WebGpuOptions,
} from "./backend/webgpu/webgpu_backend.ts";
export type { WasmBackend, WasmOptions, WasmStorage } from "./backend/wasm/wasm_backend.ts";
export type { CpuInput, CpuKernel, CpuOutput } from "./backend/cpu/kernel.ts";
export {
  type CDeclarations,
  type CEnum,
  cEnum,
  cEnumerators,
  REFERENCE,
  type WasmEntry,
  type WasmExports,
  type WasmInput,
  type WasmKernel,
  type WasmOutput,
  type WasmRuntime,
} from "./backend/wasm/kernel.ts";
export type {
  Dispatch,
  GpuContext,
  GpuInput,
  GpuKernel,
  GpuOutput,
  TextureCopy,
} from "./backend/webgpu/context.ts";
export {
  cpu,
  createWebGpuBackend,
  getBackend,
  hasWebGPU,
  setBackend,
  swiftShaderDriver,
  useWasm,
  useWebGPU,
  VULKAN_DRIVER_VARS,
  wasm,
  webgpu,
  WEBGPU_IMPLEMENTATIONS,
  type WebGpuChoice,
  type WebGpuImplementation,
} from "./device.ts";
export { backward } from "./autograd/backward.ts";
export {
  type ApplyOp,
  type GradRule,
  type NotDifferentiable,
  notDifferentiable,
  unbroadcast,
  type VjpContext,
  type VjpRule,
} from "./autograd/vjp.ts";
export { VJP_RULES } from "./ops/registry.ts";
export * from "./ops/create.ts";
export * from "./ops/elementwise/elementwise.ts";
export * from "./ops/reduce/reduce.ts";
export * from "./ops/misc/misc.ts";
export * from "./ops/loss/loss.ts";
export * from "./ops/matmul/matmul.ts";
export * from "./ops/conv/conv.ts";
export * from "./ops/pool/pool.ts";
export * from "./ops/norm/norm.ts";
export * from "./ops/optim/optim.ts";
export * from "./safetensors.ts";
export * from "./random.ts";
