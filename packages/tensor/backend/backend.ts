/**
 * The small interface every device implements. A backend owns opaque storage
 * handles; tensors hold them and call `run` with the op's output spec already
 * computed by the op's shape rule (`OPS[op].shape`), so kernels never re-derive shapes.
 *
 * @module
 */
import type { DType, OutSpec } from "../shape.ts";
import type { CpuKernel } from "./cpu/kernel.ts";
import type { KernelInput, TypedArray } from "./kernel_input.ts";
import type { WasmEntry } from "./wasm/kernel.ts";
import type { GpuKernel } from "./webgpu/context.ts";

export type { KernelInput, TypedArray } from "./kernel_input.ts";

/**
 * What a backend runs: an op's name (for messages) and its kernel on each
 * backend, taking attributes `A`. Backends know no op: `apply` hands them the
 * op's definition (`ops/registry.ts`), which is one of these.
 */
export interface OpKernels<A> {
  /** The op's name. */
  readonly name: string;
  /** The CPU reference. */
  readonly cpu: CpuKernel<A>;
  /** The WGSL kernel. */
  readonly webgpu: GpuKernel<A>;
  /** The WebAssembly SIMD kernel, or `"reference"`: the CPU reference on the wasm memory. */
  readonly wasm: WasmEntry<A>;
}

/** Bytes a backend holds, for leak tests and the bench. */
export interface MemoryInfo {
  /** Bytes held by live storages. */
  bytesInUse: number;
  /** Bytes of released storages kept for reuse. */
  bytesPooled: number;
  /** Storages created since start (flat once a training loop is warm). */
  allocations: number;
}

/** A device that stores tensors and runs primitive ops on them. */
export interface Backend<S = unknown> {
  /** `cpu` or `webgpu`. */
  readonly name: string;
  /** Copies host data into new storage. */
  upload(data: TypedArray): S;
  /** Reads `size` elements of storage back to the host. */
  read(storage: S, dtype: DType, size: number): Promise<TypedArray>;
  /** Runs a primitive op (its kernels, as `OPS[name]` holds them), returning new storage for its output. */
  run<A>(op: OpKernels<A>, inputs: KernelInput<S>[], attrs: A, out: OutSpec): S;
  /** Gives storage back (to a pool); the handle must not be used again. */
  release(storage: S): void;
  /** Starts any queued work (a no-op where work runs eagerly). */
  flush(): void;
  /** Bytes held now. */
  memory(): MemoryInfo;
}
