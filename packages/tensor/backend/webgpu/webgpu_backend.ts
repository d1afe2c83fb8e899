/**
 * The WebGPU backend: every op runs as its WGSL compute kernel (the `webgpu`
 * part of its definition, `ops/registry.ts`), recorded into one open command encoder and submitted
 * in batches.
 *
 * Runtime design, for speed on a real GPU, one part per concern:
 * - `buffer_pool.ts`: buffers come from a pool keyed by size class (see
 *   {@link poolSize}), so a training loop allocates nothing new after its
 *   first step; reads copy through pooled staging buffers.
 * - `texture_pool.ts`: the scratch textures some kernels borrow, pooled alike.
 * - `command_batch.ts`: dispatches are batched: they go into one open compute
 *   pass (closed only around the buffer-to-texture copies some kernels
 *   record) and are submitted at {@link WebGpuBackend.flush}, before a read or
 *   an upload that needs it, and every `flushEvery` dispatches.
 * - `pipeline_cache.ts`: shader modules, pipelines, uniform buffers and bind
 *   groups are cached, so a warm training loop creates no GPU objects at all.
 * - `device_errors.ts`: GPU errors (validation errors, device loss) are
 *   recorded as they arrive and thrown, naming the op, from the next `run`,
 *   `read` or `flush`; a read after the device is lost rejects instead of
 *   hanging.
 * - `autotune.ts`: ops with several kernel variants (matmul, the convs: see
 *   `KERNEL_VARIANTS` in `ops/registry.ts`) are measured once per adapter when the first
 *   backend is created, and the fastest variant is used from then on.
 *
 * This class composes them behind the {@link Backend} interface and gives the
 * kernels their {@link GpuContext}.
 *
 * @module
 */
import { type DType, type OutSpec, sizeOf } from "../../shape.ts";
import type { Backend, KernelInput, MemoryInfo, OpKernels, TypedArray } from "../backend.ts";
import type { Dispatch, GpuContext, GpuKernel, TextureCopy } from "./context.ts";
import { requestAdapter, type WebGpuImplementation } from "./adapter.ts";
import { measureVariants, tunedVariants, type VariantSet, variantsInUse } from "./autotune.ts";
import { BufferPool, type GpuStorage, poolSize } from "./buffer_pool.ts";
import { CommandBatch, type GpuCounters } from "./command_batch.ts";
import { DeviceErrors } from "./device_errors.ts";
import { MAP_MODE_READ } from "./gpu_flags.ts";
import { PipelineCache } from "./pipeline_cache.ts";
import { TexturePool } from "./texture_pool.ts";

export { type GpuCounters, type GpuStorage, poolSize };

/** Options of {@link WebGpuBackend.create}. */
export interface WebGpuOptions {
  /**
   * Which WebGPU implementation to run on: Deno's own (`deno`, the default)
   * or Dawn, Chrome's (`dawn`, loaded from npm `webgpu`; needs `--allow-ffi`).
   */
  implementation?: WebGpuImplementation;
  /** Which adapter to ask for (default: the platform's choice). */
  powerPreference?: GPUPowerPreference;
  /** Replacement kernels by op name (tests, experiments); the rest are the ops' own. */
  kernels?: Readonly<Record<string, GpuKernel<never>>>;
  /** Submit after this many recorded dispatches (default 256). */
  flushEvery?: number;
  /** Most cached uniform buffers before the least recently used go (default 4096). */
  maxUniforms?: number;
  /** Most cached bind groups before the least recently used go (default 8192). */
  maxBindGroups?: number;
  /**
   * The ops whose kernels have variants, and how to measure them
   * (`KERNEL_VARIANTS` of `ops/registry.ts`, which `createWebGpuBackend`
   * and `webgpu()` pass; default none: every op runs its first variant).
   */
  variantSets?: readonly VariantSet[];
  /**
   * Kernel variants to use, by op (e.g. `{ matmul: "tiled" }`), instead of
   * measuring.
   */
  variants?: Record<string, string>;
  /**
   * Measure the variants of each op once per adapter (per process) and keep
   * the fastest (default true; false uses the first variant).
   */
  autotune?: boolean;
}

/** {@link MemoryInfo} plus the GPU runtime's other allocations. */
export interface GpuMemoryInfo extends MemoryInfo {
  /** MAP_READ staging buffers created for reads. */
  stagingAllocations: number;
  /** Uniform buffers in the cache now. */
  uniformBuffers: number;
  /** Bind groups in the cache now. */
  bindGroups: number;
  /** Pipelines compiled so far. */
  pipelines: number;
  /** Scratch textures created (pooled like buffers). */
  textureAllocations: number;
}

/**
 * The WebGPU backend. Create it once per process with {@link WebGpuBackend.create}.
 *
 * @example
 * ```ts ignore
 * import { KERNEL_VARIANTS, OPS } from "../../ops/registry.ts";
 * import { WebGpuBackend } from "./webgpu_backend.ts";
 * const gpu = await WebGpuBackend.create({ variantSets: KERNEL_VARIANTS });
 * const x = gpu.upload(new Float32Array([-1, 2]));
 * const y = gpu.run(OPS.relu, [{ storage: x, shape: [2], dtype: "float32" }], {}, {
 *   shape: [2],
 *   dtype: "float32",
 * });
 * console.log(await gpu.read(y, "float32", 2)); // Float32Array [0, 2]
 * ```
 */
export class WebGpuBackend implements Backend<GpuStorage> {
  /** Always `webgpu`. */
  readonly name = "webgpu";
  /** The WebGPU implementation the device belongs to. */
  readonly implementation: WebGpuImplementation;
  /** The device every buffer and pipeline belongs to. */
  readonly device: GPUDevice;
  /** What the adapter says about itself (vendor, architecture, description). */
  readonly adapterInfo: GPUAdapterInfo;

  #kernels: Readonly<Record<string, GpuKernel<never>>>;
  #variantSets: readonly VariantSet[];
  #variants: Record<string, string> = {};
  #errors: DeviceErrors;
  #buffers: BufferPool;
  #textures: TexturePool;
  #batch: CommandBatch;
  #cache: PipelineCache;
  /** Scratch storages borrowed by the op being recorded. */
  #scratch: GpuStorage[] = [];
  #ctx: GpuContext;

  private constructor(device: GPUDevice, info: GPUAdapterInfo, options: WebGpuOptions) {
    this.implementation = options.implementation ?? "deno";
    this.device = device;
    this.adapterInfo = info;
    this.#kernels = { ...options.kernels };
    this.#variantSets = options.variantSets ?? [];
    const errors = this.#errors = new DeviceErrors(device);
    this.#buffers = new BufferPool(device);
    this.#textures = new TexturePool(device);
    const batch = this.#batch = new CommandBatch(device, errors, options.flushEvery ?? 256);
    this.#cache = new PipelineCache(
      device,
      errors,
      batch,
      options.maxUniforms ?? 4096,
      options.maxBindGroups ?? 8192,
    );
    this.#ctx = {
      device,
      dispatch: (d: Dispatch): void => this.#dispatch(d),
      scratch: (bytes: number): GPUBuffer => {
        const s = this.#buffers.alloc(bytes, `${errors.op}:scratch`);
        this.#scratch.push(s);
        return s.buffer;
      },
      scratchTexture: (width: number, height: number, format: GPUTextureFormat): GPUTexture =>
        this.#textures.borrow(width, height, format, errors.op),
      variant: (op: string): string | undefined => this.#variants[op],
      copyToTexture: (src: GPUBuffer, dst: GPUTexture, layout: TextureCopy): void =>
        batch.copyToTexture(src, dst, layout, errors.op),
    };
    if (options.variants) this.#variants = { ...options.variants };
  }

  /**
   * Acquires an adapter and a device with the adapter's highest limits for
   * storage buffer sizes, workgroup storage and workgroup sizes.
   *
   * @throws when the implementation cannot start or no adapter exists
   */
  static async create(options: WebGpuOptions = {}): Promise<WebGpuBackend> {
    const adapter = await requestAdapter(
      options.implementation ?? "deno",
      options.powerPreference ? { powerPreference: options.powerPreference } : undefined,
    );
    const wanted = [
      "maxStorageBufferBindingSize",
      "maxBufferSize",
      "maxComputeWorkgroupStorageSize",
      "maxStorageBuffersPerShaderStage",
      "maxComputeInvocationsPerWorkgroup",
      "maxComputeWorkgroupSizeX",
      "maxTextureDimension2D",
    ] as const;
    const requiredLimits: Record<string, number> = {};
    for (const k of wanted) requiredLimits[k] = adapter.limits[k];
    const device = await adapter.requestDevice({ label: "tensor", requiredLimits });
    const backend = new WebGpuBackend(device, adapter.info, options);
    if (options.autotune !== false) {
      // run() is synchronous, so the variants are measured here, before the
      // first use, rather than during it; once per adapter per process.
      // Replacement kernels would skew the measurement for other backends.
      const tuned = tunedVariants(
        backend.implementation,
        adapter.info,
        !options.kernels,
        () =>
          measureVariants(
            backend.#variantSets,
            backend,
            backend.#variants,
            () => !!backend.#errors.lostError,
          ),
      );
      backend.#variants = { ...(await tuned), ...options.variants };
    }
    return backend;
  }

  /** The kernel variant used for each op that has several. */
  variants(): Record<string, string> {
    return variantsInUse(this.#variantSets, this.#variants);
  }

  // -------------------------------------------------------------------------
  // Backend

  /** Copies `data` into a pooled storage buffer. */
  upload(data: TypedArray): GpuStorage {
    this.#errors.throwIfFailed();
    const s = this.#buffers.alloc(data.byteLength, "upload");
    this.#batch.beforeWrite(s.buffer);
    if (data.byteLength > 0) {
      this.device.queue.writeBuffer(s.buffer, 0, data as Float32Array<ArrayBuffer>);
    }
    return s;
  }

  /** Submits pending work and reads `size` elements of `storage` back. */
  async read(storage: GpuStorage, dtype: DType, size: number): Promise<TypedArray> {
    const errors = this.#errors;
    errors.throwIfFailed();
    const bytes = size * 4;
    if (bytes > storage.bytes) {
      throw new Error(`Cannot read ${size} elements from a ${storage.bytes}-byte buffer`);
    }
    if (bytes === 0) {
      this.#batch.submit();
      await errors.settle();
      errors.throwIfFailed();
      return dtype === "int32" ? new Int32Array(0) : new Float32Array(0);
    }
    const stagingSize = poolSize(bytes);
    const staging = this.#buffers.takeStaging(stagingSize);
    this.#batch.copyToBuffer(storage.buffer, staging, bytes);
    this.#batch.submit();
    let mapped: boolean;
    try {
      mapped = await Promise.race([
        staging.mapAsync(MAP_MODE_READ, 0, bytes).then(() => true as const),
        errors.lost,
      ]);
    } catch (e) {
      staging.destroy();
      await errors.settle();
      errors.throwIfFailed();
      throw new Error(`WebGPU read failed: ${e instanceof Error ? e.message : e}`);
    }
    if (!mapped) throw errors.lostFailure();
    const data = staging.getMappedRange(0, bytes).slice(0);
    staging.unmap();
    this.#buffers.putStaging(stagingSize, staging);
    await errors.settle();
    errors.throwIfFailed();
    return dtype === "int32" ? new Int32Array(data) : new Float32Array(data);
  }

  /** Records op `op`'s kernel into a new pooled output buffer. */
  run<A>(
    { name: op, webgpu }: OpKernels<A>,
    inputs: KernelInput<GpuStorage>[],
    attrs: A,
    out: OutSpec,
  ): GpuStorage {
    this.#errors.throwIfFailed();
    const storage = this.#buffers.alloc(sizeOf(out.shape) * 4, op);
    const kernel = (this.#kernels[op] as GpuKernel<A> | undefined) ?? webgpu;
    this.#errors.op = op;
    try {
      kernel(
        this.#ctx,
        inputs.map((x) => ({ buffer: x.storage.buffer, shape: x.shape, dtype: x.dtype })),
        attrs,
        { buffer: storage.buffer, shape: out.shape, dtype: out.dtype },
      );
    } catch (e) {
      this.release(storage);
      throw e;
    } finally {
      // Safe while the op's dispatches are pending: later users of these
      // buffers are recorded (and so run) after them.
      for (const s of this.#scratch) this.release(s);
      this.#scratch.length = 0;
      this.#textures.returnBorrowed();
    }
    return storage;
  }

  /** Returns `storage` to the pool (a second release is ignored). */
  release(storage: GpuStorage): void {
    if (this.#buffers.release(storage)) this.#batch.released(storage.buffer);
  }

  /** Submits all recorded dispatches; throws a recorded GPU error. */
  flush(): void {
    this.#errors.throwIfFailed();
    this.#batch.submit();
  }

  /** Bytes in live storages and in the pool, and counts of GPU allocations. */
  memory(): GpuMemoryInfo {
    return {
      ...this.#buffers.memory(),
      uniformBuffers: this.#cache.uniformCount,
      bindGroups: this.#cache.bindGroupCount,
      pipelines: this.#cache.pipelineCount,
      textureAllocations: this.#textures.allocations,
    };
  }

  /**
   * Waits until all submitted work has finished (for benchmarks), throwing a
   * recorded GPU error.
   */
  async sync(): Promise<void> {
    this.flush();
    const done = await Promise.race([
      this.device.queue.onSubmittedWorkDone().then(() => true as const),
      this.#errors.lost,
    ]);
    if (!done) throw this.#errors.lostFailure();
    await this.#errors.settle();
    this.#errors.throwIfFailed();
  }

  /** Work issued since the backend was created (for benchmarks). */
  counters(): GpuCounters {
    return this.#batch.counters();
  }

  /** Frees the pooled buffers (live storages stay valid). */
  trim(): void {
    this.#batch.submit();
    this.#buffers.trim();
    // Cached bind groups would keep the destroyed buffers' objects alive.
    this.#cache.clearBindGroups();
    this.#textures.trim();
  }

  /** Destroys the device; every later call fails. */
  destroy(): void {
    this.#batch.discard();
    this.#errors.destroyed();
    this.device.destroy();
  }

  /** Records one dispatch: cached pipeline and bind group, then the batch. */
  #dispatch(d: Dispatch): void {
    const [x, y = 1, z = 1] = d.workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    this.#errors.knowLabel(d.label);
    const p = this.#cache.pipeline(d);
    const group = this.#cache.bindGroup(d, p);
    this.#batch.dispatch(p.pipeline, group, x, y, z, d.label);
  }
}
