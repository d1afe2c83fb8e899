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
export * from "./op_name.ts";
export type { Backend, KernelInput, MemoryInfo, TypedArray } from "./backend/backend.ts";
export { CpuBackend } from "./backend/cpu/cpu_backend.ts";
export {
  type GpuCounters,
  type GpuMemoryInfo,
  type GpuStorage,
  WebGpuBackend,
  type WebGpuOptions,
} from "./backend/webgpu/webgpu_backend.ts";
export type {
  Dispatch,
  GpuContext,
  GpuInput,
  GpuKernel,
  GpuKernelTable,
  GpuOutput,
  TextureCopy,
} from "./backend/webgpu/context.ts";
export {
  cpu,
  getBackend,
  hasWebGPU,
  setBackend,
  swiftShaderDriver,
  useWebGPU,
  webgpu,
  WEBGPU_IMPLEMENTATIONS,
  type WebGpuChoice,
  type WebGpuImplementation,
} from "./device.ts";
export { backward } from "./autograd/backward.ts";
export { unbroadcast, VJP_RULES, type VjpContext, type VjpRule } from "./autograd/vjp.ts";
export * from "./ops/create.ts";
export * from "./ops/elementwise.ts";
export * from "./ops/shape_ops.ts";
export * from "./ops/reduce.ts";
export * from "./ops/matmul.ts";
export * from "./ops/conv.ts";
export * from "./ops/nn.ts";
export * from "./ops/optim.ts";
export * from "./safetensors.ts";
export * from "./random.ts";
