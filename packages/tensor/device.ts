/**
 * Which backend new tensors go to. The CPU reference backend is the default
 * until {@link useWebGPU} acquires the GPU (once per process).
 *
 * @module
 */
import type { Backend } from "./backend/backend.ts";
import { CpuBackend } from "./backend/cpu/cpu_backend.ts";
import { ensureRuntimeDir } from "./backend/webgpu/runtime_dir.ts";
import type { WebGpuBackend } from "./backend/webgpu/webgpu_backend.ts";

let cpuBackend: CpuBackend | undefined;
let gpuBackend: Promise<WebGpuBackend> | undefined;
let current: Backend | undefined;

/** The CPU reference backend (plain loops; the meaning of every op). */
export function cpu(): CpuBackend {
  return (cpuBackend ??= new CpuBackend());
}

/**
 * The WebGPU backend, created on first call and shared afterwards. Throws a
 * clear error when the runtime has no WebGPU or no adapter exists.
 */
export function webgpu(): Promise<WebGpuBackend> {
  // Loaded on first use, so CPU-only programs never compile the WGSL kernels.
  gpuBackend ??= import("./backend/webgpu/webgpu_backend.ts").then((m) => m.WebGpuBackend.create())
    .catch((e: unknown) => {
      gpuBackend = undefined;
      throw e;
    });
  return gpuBackend!;
}

/** Makes the WebGPU backend the default for new tensors and returns it. */
export async function useWebGPU(): Promise<WebGpuBackend> {
  const b = await webgpu();
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

/** Whether a WebGPU adapter exists here (for tests that need one). */
export async function hasWebGPU(): Promise<boolean> {
  if (!("gpu" in navigator)) return false;
  ensureRuntimeDir();
  try {
    return (await navigator.gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
}
