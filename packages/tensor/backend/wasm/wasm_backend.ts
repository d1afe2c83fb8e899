/**
 * The fast CPU backend: every tensor lives in one WebAssembly memory; an op
 * runs its family's wasm kernel (`ops/<family>/wasm.ts`, beside the C source
 * compiled into this module: the ops that dominate training) or, where the
 * family has none, its CPU reference loop on views of that memory — so this
 * backend computes what the reference defines, and is tested against it op
 * by op. This module is the runtime: memory, pooling, threads.
 *
 * @module
 */
import { type DType, type OutSpec, sizeOf } from "../../shape.ts";
import type { Backend, KernelInput, MemoryInfo, OpKernels, TypedArray } from "../backend.ts";
import type { CpuInput, CpuOutput } from "../cpu/kernel.ts";
import { REFERENCE, type WasmExports, type WasmRuntime, type WasmStorage } from "./kernel.ts";
import { KERNELS_WASM_BASE64, KERNELS_WASM_THREADS_BASE64 } from "./kernels_wasm.generated.ts";
import { CONTROL_INTS, ThreadPool } from "./thread_pool.ts";

export type { WasmStorage } from "./kernel.ts";

/** What the module exports besides the kernels (the one-thread build also its memory). */
interface ModuleExports {
  memory?: WebAssembly.Memory;
  __heap_base: WebAssembly.Global;
  matmul_scratch_floats(): number;
}

const PAGE = 65536;
/** The threads build's memory limit (its `--max-memory`): 2 GiB. */
const MAX_PAGES = 32768;

const compiled = new Map<string, Promise<WebAssembly.Module>>();

/** A build of the kernels, decoded and compiled once per process. */
function kernelsModule(base64: string): Promise<WebAssembly.Module> {
  let m = compiled.get(base64);
  if (!m) {
    m = WebAssembly.compile(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
    compiled.set(base64, m);
  }
  return m;
}

/** Options of {@link WasmBackend.create}. */
export interface WasmOptions {
  /**
   * Threads a kernel call uses (default: `navigator.hardwareConcurrency`).
   * More than one needs SharedArrayBuffer (Deno; a cross-origin-isolated
   * page); without it the backend runs on one thread.
   */
  threads?: number;
}

/** Whether shared WebAssembly memory and workers can be made here. */
function sharedMemoryWorks(): boolean {
  try {
    return typeof Worker === "function" &&
      new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof
        SharedArrayBuffer;
  } catch {
    return false;
  }
}

/**
 * A backend whose storages are ranges of one WebAssembly memory. Released
 * ranges are pooled by size, so a training loop stops allocating after its
 * first step and the memory stops growing.
 *
 * @example
 * ```ts
 * import { OPS } from "../../ops/registry.ts";
 * import { WasmBackend } from "./wasm_backend.ts";
 * const wasm = await WasmBackend.create();
 * const a = wasm.upload(new Float32Array([1, 2, 3, 4]));
 * const c = wasm.run(OPS.matmul, [
 *   { storage: a, shape: [2, 2], dtype: "float32" },
 *   { storage: a, shape: [2, 2], dtype: "float32" },
 * ], { transA: false, transB: false }, { shape: [2, 2], dtype: "float32" });
 * console.log(await wasm.read(c, "float32", 4)); // Float32Array [7, 10, 15, 22]
 * ```
 */
export class WasmBackend implements Backend<WasmStorage> {
  /** Always `wasm`. */
  readonly name: string = "wasm";
  #rt: WasmRuntime;
  #memory: WebAssembly.Memory;
  #threads?: ThreadPool;
  #scratchBytes: number;
  #top: number;
  #free = new Map<number, number[]>();
  #live = new Set<number>();
  /** Scratch taken by the op running now, released when it returns. */
  #temps: WasmStorage[] = [];
  #bytesInUse = 0;
  #bytesPooled = 0;
  #allocations = 0;

  private constructor(exports: ModuleExports, memory: WebAssembly.Memory) {
    this.#memory = memory;
    this.#top = align(exports.__heap_base.value as number);
    const scratchFloats = exports.matmul_scratch_floats();
    this.#scratchBytes = 4 * scratchFloats;
    // This thread's scratch, and the task counter of calls on this thread alone.
    const scratch = this.#reserve(this.#scratchBytes);
    const next = this.#reserve(16);
    const kernels = exports as unknown as WasmExports;
    this.#rt = {
      exports: kernels,
      tasks: (kernel, args, big) => {
        const threads = this.#threads;
        const call = (at: number, parts: number) => kernels[kernel](...args, scratch, at, parts);
        if (threads && big) return threads.run(kernel, args, call);
        new Int32Array(this.#memory.buffer, next, 1)[0] = 0;
        call(next, 1);
      },
      scratch: (bytes) => {
        const s = this.#allocate(bytes);
        this.#temps.push(s);
        return s.ptr;
      },
      threadScratchFloats: scratchFloats,
    };
  }

  /**
   * Instantiates the SIMD kernels (compiled once per process) and starts
   * their threads.
   *
   * @param options threads
   * @returns a new backend with its own memory
   */
  static async create(options: WasmOptions = {}): Promise<WasmBackend> {
    const threads = Math.max(1, Math.floor(options.threads ?? navigator.hardwareConcurrency ?? 1));
    if (threads > 1 && sharedMemoryWorks()) {
      const module = await kernelsModule(KERNELS_WASM_THREADS_BASE64);
      const memory = new WebAssembly.Memory({ initial: 64, maximum: MAX_PAGES, shared: true });
      const instance = await WebAssembly.instantiate(module, { env: { memory } });
      const backend = new WasmBackend(instance.exports as unknown as ModuleExports, memory);
      const control = backend.#reserve(4 * CONTROL_INTS);
      const scratch = Array.from(
        { length: threads - 1 },
        () => backend.#reserve(backend.#scratchBytes),
      );
      backend.#threads = await ThreadPool.start(module, memory, control, [0, ...scratch]);
      return backend;
    }
    const instance = await WebAssembly.instantiate(await kernelsModule(KERNELS_WASM_BASE64), {});
    const ex = instance.exports as unknown as ModuleExports;
    return new WasmBackend(ex, ex.memory!);
  }

  /** Threads each large kernel call uses (1 without SharedArrayBuffer). */
  get threads(): number {
    return this.#threads?.threads ?? 1;
  }

  /** What the backend is, for logs and reports: `wasm (WebAssembly SIMD, 2 threads)`. */
  get description(): string {
    return `wasm (WebAssembly SIMD, ${this.threads} thread${this.threads === 1 ? "" : "s"})`;
  }

  /** Memory for the backend's own use (never released), from the top. */
  #reserve(bytes: number): number {
    const ptr = this.#top;
    this.#grow(this.#top += align(bytes));
    return ptr;
  }

  /** Grows the memory to hold `end` bytes. */
  #grow(end: number): void {
    const missing = end - this.#memory.buffer.byteLength;
    if (missing > 0) this.#memory.grow(Math.ceil(missing / PAGE));
  }

  /** A range of at least `bytes`, from the pool or from the top of memory (grown as needed). */
  #allocate(bytes: number): WasmStorage {
    const size = align(Math.max(bytes, 16));
    const free = this.#free.get(size);
    let ptr = free?.pop();
    if (ptr !== undefined) {
      this.#bytesPooled -= size;
    } else {
      ptr = this.#top;
      this.#grow(this.#top += size);
      this.#allocations++;
    }
    this.#live.add(ptr);
    this.#bytesInUse += size;
    return { ptr, bytes: size };
  }

  /** A typed view of `size` elements at `ptr` (views are made per use: growing memory detaches old ones). */
  #view(ptr: number, dtype: DType, size: number): TypedArray {
    const buffer = this.#memory.buffer;
    return dtype === "int32"
      ? new Int32Array(buffer, ptr, size)
      : new Float32Array(buffer, ptr, size);
  }

  /** Copies `data` into a new storage. */
  upload(data: TypedArray): WasmStorage {
    const s = this.#allocate(data.byteLength);
    const dtype: DType = data instanceof Int32Array ? "int32" : "float32";
    this.#view(s.ptr, dtype, data.length).set(data);
    return s;
  }

  /** A copy of the first `size` elements of `storage`. */
  read(storage: WasmStorage, dtype: DType, size: number): Promise<TypedArray> {
    return Promise.resolve(this.#view(storage.ptr, dtype, size).slice());
  }

  /** Runs `op`: its family's wasm kernel where it has one, else its reference loop on views of the memory. */
  run<A>(
    { wasm, cpu }: OpKernels<A>,
    inputs: KernelInput<WasmStorage>[],
    attrs: A,
    out: OutSpec,
  ): WasmStorage {
    const size = sizeOf(out.shape);
    const s = this.#allocate(size * 4);
    if (wasm !== REFERENCE) {
      let done: boolean | void;
      try {
        done = wasm(this.#rt, inputs, attrs, { ptr: s.ptr, shape: out.shape });
      } finally {
        for (const t of this.#temps.splice(0)) this.release(t);
      }
      if (done !== false) return s;
    }
    // Views only after the allocation, which may have grown (detached) the memory.
    const views: CpuInput[] = inputs.map((x) => ({
      data: this.#view(x.storage.ptr, x.dtype, sizeOf(x.shape)),
      shape: x.shape,
      dtype: x.dtype,
    }));
    const output: CpuOutput = { data: this.#view(s.ptr, out.dtype, size), shape: out.shape };
    // The reference kernels expect a zero-filled output (a pooled range holds old values).
    output.data.fill(0);
    cpu(views, attrs, output);
    return s;
  }

  /** Gives the range back to the pool (a second release is ignored). */
  release(storage: WasmStorage): void {
    if (!this.#live.delete(storage.ptr)) return;
    this.#bytesInUse -= storage.bytes;
    this.#bytesPooled += storage.bytes;
    let free = this.#free.get(storage.bytes);
    if (!free) this.#free.set(storage.bytes, free = []);
    free.push(storage.ptr);
  }

  /** Nothing to do: every op has already run. */
  flush(): void {}

  /** Stops the threads (the backend must not be used afterwards). */
  destroy(): void {
    this.#threads?.stop();
    this.#threads = undefined;
  }

  /** Bytes in live and in pooled ranges, and ranges taken from the top of memory. */
  memory(): MemoryInfo {
    return {
      bytesInUse: this.#bytesInUse,
      bytesPooled: this.#bytesPooled,
      allocations: this.#allocations,
    };
  }
}

/** Rounds up to 16 bytes (one f32x4). */
function align(bytes: number): number {
  return (bytes + 15) & ~15;
}
