/**
 * The WebGPU implementation a bench run measures (`--webgpu deno|dawn`), so
 * that every section takes its backend from one place.
 *
 * @module
 */
import { useWebGPU, type WebGpuBackend, type WebGpuImplementation } from "@agd/tensor";

let chosen: WebGpuImplementation = "deno";

/**
 * Chooses the implementation the rest of the run measures.
 *
 * @param implementation `deno` (the default) or `dawn`
 */
export function chooseImplementation(implementation: WebGpuImplementation): void {
  chosen = implementation;
}

/** The implementation chosen by {@link chooseImplementation} (default `deno`). */
export function benchImplementation(): WebGpuImplementation {
  return chosen;
}

/**
 * The shared backend of the chosen implementation, made the default for new
 * tensors.
 *
 * @returns the backend
 */
export function benchBackend(): Promise<WebGpuBackend> {
  return useWebGPU({ implementation: chosen });
}
