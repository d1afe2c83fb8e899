/**
 * Which backend new tensors go to. The CPU reference backend is the default
 * until {@link useWebGPU} acquires the GPU or {@link useWasm} the fast CPU
 * backend. There is one WebGPU backend per WebGPU implementation (Deno's own,
 * or Dawn: see {@link WebGpuImplementation}) and process, and one wasm
 * backend, each created on first use.
 *
 * @module
 */
import type { Backend } from "./backend/backend.ts";
import { CpuBackend } from "./backend/cpu/cpu_backend.ts";
import { requestAdapter, type WebGpuImplementation } from "./backend/webgpu/adapter.ts";
import type { WebGpuBackend, WebGpuOptions } from "./backend/webgpu/webgpu_backend.ts";
import type { WasmBackend, WasmOptions } from "./backend/wasm/wasm_backend.ts";
import { KERNEL_VARIANTS } from "./ops/registry.ts";

export type { WebGpuImplementation } from "./backend/webgpu/adapter.ts";
export {
  swiftShaderDriver,
  VULKAN_DRIVER_VARS,
  WEBGPU_IMPLEMENTATIONS,
} from "./backend/webgpu/adapter.ts";

/** Options of {@link webgpu}, {@link useWebGPU} and {@link hasWebGPU}. */
export interface WebGpuChoice {
  /**
   * The WebGPU implementation: `deno` (Deno's own, the default) or `dawn`
   * (Chrome's, loaded from npm `webgpu` only when asked for; needs
   * `--allow-ffi` and, on a machine without a GPU, Chromium's SwiftShader).
   */
  implementation?: WebGpuImplementation;
}

let cpuBackend: CpuBackend | undefined;
const gpuBackends = new Map<WebGpuImplementation, Promise<WebGpuBackend>>();
let wasmBackend: Promise<WasmBackend> | undefined;
let current: Backend | undefined;

/** The CPU reference backend (plain loops; the meaning of every op). */
export function cpu(): CpuBackend {
  return (cpuBackend ??= new CpuBackend());
}

/**
 * The WebGPU backend of an implementation, created on first call and shared
 * afterwards. Throws a clear error when the implementation cannot start or no
 * adapter exists.
 *
 * @param options which implementation (default `deno`)
 * @returns the shared backend
 */
export function webgpu(options: WebGpuChoice = {}): Promise<WebGpuBackend> {
  const implementation = options.implementation ?? "deno";
  let backend = gpuBackends.get(implementation);
  if (!backend) {
    // Loaded on first use, so CPU-only programs never compile the WGSL kernels.
    backend = import("./backend/webgpu/webgpu_backend.ts")
      .then((m) => m.WebGpuBackend.create({ implementation, variantSets: KERNEL_VARIANTS }))
      .catch((e: unknown) => {
        gpuBackends.delete(implementation);
        throw e;
      });
    gpuBackends.set(implementation, backend);
  }
  return backend;
}

/**
 * A new WebGPU backend of its own (not the shared one of {@link webgpu}), for
 * callers that need their own options, such as the bench's kernel variants.
 * The backend module is imported here, on first use, so that CPU-only
 * programs never load it.
 *
 * @param options the backend's options (implementation, kernels, variants…)
 * @returns the new backend
 * @example
 * ```ts ignore
 * import { createWebGpuBackend } from "@agd/tensor";
 * const gpu = await createWebGpuBackend({ implementation: "deno" });
 * ```
 */
export async function createWebGpuBackend(options?: WebGpuOptions): Promise<WebGpuBackend> {
  const { WebGpuBackend } = await import("./backend/webgpu/webgpu_backend.ts");
  return await WebGpuBackend.create({ variantSets: KERNEL_VARIANTS, ...options });
}

/**
 * Makes the WebGPU backend of an implementation the default for new tensors
 * and returns it.
 *
 * @param options which implementation (default `deno`)
 * @returns the backend now in use
 */
export async function useWebGPU(options: WebGpuChoice = {}): Promise<WebGpuBackend> {
  const b = await webgpu(options);
  current = b;
  return b;
}

/**
 * The fast CPU backend (WebAssembly SIMD kernels on every core), created on
 * first call and shared afterwards; the options apply to that first call.
 *
 * @param options threads (default: every core, where SharedArrayBuffer exists)
 * @returns the shared backend
 */
export function wasm(options: WasmOptions = {}): Promise<WasmBackend> {
  wasmBackend ??= import("./backend/wasm/wasm_backend.ts")
    .then((m) => m.WasmBackend.create(options))
    .catch((e: unknown) => {
      wasmBackend = undefined;
      throw e;
    });
  return wasmBackend;
}

/**
 * Makes the fast CPU backend the default for new tensors and returns it.
 *
 * @param options threads (for the first call; see {@link wasm})
 * @returns the backend now in use
 */
export async function useWasm(options: WasmOptions = {}): Promise<WasmBackend> {
  const b = await wasm(options);
  current = b;
  return b;
}

/** Sets the default backend for new tensors. */
export function setBackend(backend: Backend): void {
  current = backend;
}

/** The default backend for new tensors. */
export function getBackend(): Backend {
  return (current ??= cpu());
}

/**
 * Whether an implementation (default `deno`) has a WebGPU adapter here (for
 * tests that need one).
 *
 * @param options which implementation
 * @returns true when an adapter was found
 */
export async function hasWebGPU(options: WebGpuChoice = {}): Promise<boolean> {
  try {
    await requestAdapter(options.implementation ?? "deno");
    return true;
  } catch {
    return false;
  }
}
