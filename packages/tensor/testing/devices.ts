/**
 * The devices a test file runs its device tests on, as jax-js runs one suite
 * per device: the CPU reference, the fast CPU backend (wasm) and each WebGPU
 * implementation (Deno's own, Dawn). A test registers itself once per device,
 * naming it at the end of the test name — `… (cpu)`, `… (wasm)`,
 * `… (webgpu:deno)`, `… (webgpu:dawn)` — and is ignored
 * where its device is unavailable, with the reason printed once per test
 * file.
 *
 * @example
 * ```ts ignore
 * import { GPU_DEVICES } from "./devices.ts";
 * for (const device of GPU_DEVICES) {
 *   Deno.test({
 *     name: `relu runs (${device.name})`,
 *     ignore: device.ignore,
 *     fn: async () => {
 *       const gpu = await device.backend();
 *       // …
 *     },
 *   });
 * }
 * ```
 *
 * @module
 */
import type { Backend } from "../backend/backend.ts";
import { requestAdapter, WEBGPU_IMPLEMENTATIONS } from "../backend/webgpu/adapter.ts";
import type { WebGpuImplementation } from "../backend/webgpu/adapter.ts";
import type { WebGpuBackend, WebGpuOptions } from "../backend/webgpu/webgpu_backend.ts";
import { cpu, wasm, webgpu } from "../device.ts";
import { KERNEL_VARIANTS } from "../ops/registry.ts";

/** A device tests run on. */
export interface TestDevice<B extends Backend = Backend> {
  /** What test names end with, in parentheses: `cpu`, `webgpu:deno`, `webgpu:dawn`. */
  readonly name: string;
  /** True where the device is unavailable (the tests are registered, ignored). */
  readonly ignore: boolean;
  /** Why the device is unavailable; undefined where it is available. */
  readonly reason?: string;
  /** The device's shared backend (created on first call). */
  backend(): Promise<B>;
}

/** A WebGPU implementation as a test device. */
export interface GpuTestDevice extends TestDevice<WebGpuBackend> {
  /** The implementation. */
  readonly implementation: WebGpuImplementation;
  /** What the adapter says it is (e.g. `llvmpipe (LLVM 15.0.6, 256 bits)`); empty when ignored. */
  readonly adapter: string;
  /** A new backend of its own on this implementation (destroy it after use). */
  create(options?: Omit<WebGpuOptions, "implementation">): Promise<WebGpuBackend>;
}

/** The CPU reference backend as a test device (always available). */
export const CPU_DEVICE: TestDevice = {
  name: "cpu",
  ignore: false,
  backend: () => Promise.resolve(cpu()),
};

/** The fast CPU backend (WebAssembly SIMD, every core) as a test device (always available). */
export const WASM_DEVICE: TestDevice = {
  name: "wasm",
  ignore: false,
  backend: () => wasm(),
};

async function probe(implementation: WebGpuImplementation): Promise<GpuTestDevice> {
  let adapter = "";
  let reason: string | undefined;
  try {
    adapter = (await requestAdapter(implementation)).info.description || "unnamed adapter";
  } catch (e) {
    reason = e instanceof Error ? e.message : String(e);
  }
  const name = `webgpu:${implementation}`;
  if (reason) console.warn(`The ${name} tests are ignored: ${reason}`);
  return {
    name,
    implementation,
    adapter,
    ignore: reason !== undefined,
    reason,
    backend: () => webgpu({ implementation }),
    create: async (options = {}) => {
      const { WebGpuBackend } = await import("../backend/webgpu/webgpu_backend.ts");
      return await WebGpuBackend.create({
        variantSets: KERNEL_VARIANTS,
        ...options,
        implementation,
      });
    },
  };
}

/** Every WebGPU implementation, each probed once per test file. */
export const GPU_DEVICES: readonly GpuTestDevice[] = await Promise.all(
  WEBGPU_IMPLEMENTATIONS.map(probe),
);

/** The CPU reference, the fast CPU backend, then every WebGPU implementation. */
export const TEST_DEVICES: readonly TestDevice[] = [CPU_DEVICE, WASM_DEVICE, ...GPU_DEVICES];

/**
 * Where a test too slow for the reference loops runs (whole models): the
 * fast CPU backend and every WebGPU implementation.
 */
export const FAST_DEVICES: readonly TestDevice[] = [WASM_DEVICE, ...GPU_DEVICES];
