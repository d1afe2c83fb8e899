/**
 * The WebGPU backend: every op runs as a WGSL compute kernel from
 * {@link WEBGPU_KERNELS}, recorded into one open command encoder and submitted
 * in batches.
 *
 * Runtime design, for speed on a real GPU:
 * - Buffers come from a pool keyed by size class (see {@link poolSize}), so a
 *   training loop allocates nothing new after its first step.
 * - Dispatches are batched: they go into one open compute pass (closed only
 *   around the buffer-to-texture copies some kernels record) and are
 *   submitted at {@link WebGpuBackend.flush}, before a read or an upload
 *   that needs it, and every `flushEvery` dispatches.
 * - Shader modules are cached by source, pipelines by (source, entry point,
 *   override constants), uniform buffers by their bytes (created mapped and
 *   never rewritten; shapes repeat every step, and an LRU cap bounds the
 *   cache), and bind groups by (pipeline, buffers): the pool hands out the
 *   same buffers in the same order every step, so a warm training loop
 *   creates no GPU objects at all.
 * - GPU errors (validation errors, device loss) are recorded as they arrive
 *   and thrown, naming the op, from the next `run`, `read` or `flush`; a read
 *   after the device is lost rejects instead of hanging.
 * - Ops with several kernel variants (matmul, the convs: see
 *   {@link KERNEL_VARIANTS}) are measured once per adapter when the first
 *   backend is created, and the fastest variant is used from then on.
 *
 * @module
 */
import { OP_NAMES, type OpAttrs, type OpName } from "../../op_name.ts";
import { type DType, type OutSpec, SHAPE_RULES, sizeOf } from "../../shape.ts";
import type { Backend, KernelInput, MemoryInfo, TypedArray } from "../backend.ts";
import type { Dispatch, GpuContext, GpuKernel, GpuKernelTable, TextureCopy } from "./context.ts";
import { KERNEL_VARIANTS, WEBGPU_KERNELS } from "./kernels.ts";
import { Rng } from "../../random.ts";
import { requestAdapter, type WebGpuImplementation } from "./adapter.ts";

/** A tensor's storage on the GPU: a pooled buffer of at least the bytes it needs. */
export interface GpuStorage {
  /** The storage buffer (STORAGE | COPY_SRC | COPY_DST). */
  readonly buffer: GPUBuffer;
  /** The buffer's size in bytes (its pool size class). */
  readonly bytes: number;
}

/** Options of {@link WebGpuBackend.create}. */
export interface WebGpuOptions {
  /**
   * Which WebGPU implementation to run on: Deno's own (`deno`, the default)
   * or Dawn, Chrome's (`dawn`, loaded from npm `webgpu`; needs `--allow-ffi`).
   */
  implementation?: WebGpuImplementation;
  /** Which adapter to ask for (default: the platform's choice). */
  powerPreference?: GPUPowerPreference;
  /** Replacement kernels by op (tests, experiments); the rest are the defaults. */
  kernels?: Partial<GpuKernelTable>;
  /** Submit after this many recorded dispatches (default 256). */
  flushEvery?: number;
  /** Most cached uniform buffers before the least recently used go (default 4096). */
  maxUniforms?: number;
  /** Most cached bind groups before the least recently used go (default 8192). */
  maxBindGroups?: number;
  /**
   * Kernel variants to use, by op (e.g. `{ matmul: "tiled" }`), instead of
   * measuring; see {@link KERNEL_VARIANTS}.
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

/** Counts of the work a backend has issued, from {@link WebGpuBackend.counters}. */
export interface GpuCounters {
  /** Compute dispatches recorded. */
  dispatches: number;
  /** Command buffers submitted. */
  submits: number;
  /**
   * Milliseconds spent inside `queue.submit` (and finishing the encoder).
   * Where the driver runs work on submit (software adapters), this is
   * mostly GPU time, not encoding.
   */
  submitMs: number;
}

/**
 * Variants measured per adapter in this process, keyed by implementation and
 * adapter description.
 */
const TUNED = new Map<string, Promise<Record<string, string>>>();

/**
 * The flag values of the WebGPU specification: the globals that hold them
 * (`GPUBufferUsage`, …) are Deno's only where its WebGPU is enabled, and
 * Dawn's are not globals at all.
 */
const BUFFER_USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 };
const TEXTURE_USAGE = { COPY_DST: 0x2, TEXTURE_BINDING: 0x4, STORAGE_BINDING: 0x8 };
const MAP_MODE_READ = 0x1; // GPUMapMode.READ
const STORAGE_USAGE = BUFFER_USAGE.STORAGE | BUFFER_USAGE.COPY_SRC | BUFFER_USAGE.COPY_DST;

/**
 * The pool size class of a buffer of `bytes` bytes: a multiple of 16 bytes up
 * to 64 KiB, then one of 8 sizes per power of two (2^k·(1 + i/8)).
 *
 * Why: 16-byte granularity keeps every buffer usable as `array<vec4<f32>>`
 * (the elementwise kernels process 4 elements per thread and may touch the
 * padding) and satisfies the 4-byte copy and map alignment rules. Small
 * buffers are kept exact because their waste is negligible and training
 * shapes repeat exactly. For large buffers, 8 classes per doubling waste at
 * most 12.5% but let nearby sizes (a smaller last batch, an eval batch, a
 * split-K scratch area) share buffers instead of each allocating their own.
 */
export function poolSize(bytes: number): number {
  const b = Math.max(16, Math.ceil(bytes / 16) * 16);
  if (b <= 65536) return b;
  const step = 2 ** Math.floor(Math.log2(b)) / 8;
  return Math.ceil(b / step) * step;
}

/** Whether a dispatch resource is a texture (only textures make views). */
function isTexture(resource: GPUBuffer | GPUTexture): resource is GPUTexture {
  return "createView" in resource;
}

/** A cached compute pipeline with its bind group layout. */
interface Pipeline {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  /** Names the pipeline in bind group cache keys. */
  id: number;
}

/**
 * The WebGPU backend. Create it once per process with {@link WebGpuBackend.create}.
 *
 * @example
 * ```ts ignore
 * import { WebGpuBackend } from "./webgpu_backend.ts";
 * const gpu = await WebGpuBackend.create();
 * const x = gpu.upload(new Float32Array([-1, 2]));
 * const y = gpu.run("relu", [{ storage: x, shape: [2], dtype: "float32" }], {}, {
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

  #kernels: GpuKernelTable;
  #flushEvery: number;
  #maxUniforms: number;
  #maxBinding: number;

  // Pool.
  #pool = new Map<number, GPUBuffer[]>();
  #live = new Set<GpuStorage>();
  #releasedInBatch = new Set<GPUBuffer>();
  #bytesInUse = 0;
  #bytesPooled = 0;
  #allocations = 0;
  #staging = new Map<number, GPUBuffer[]>();
  #stagingAllocations = 0;
  #textures = new Map<string, GPUTexture[]>();
  #textureAllocations = 0;
  #scratchTextures: [string, GPUTexture][] = [];
  #views = new WeakMap<GPUTexture, GPUTextureView>();
  #variants: Record<string, string> = {};

  // Caches.
  #modules = new Map<string, Map<string, Pipeline>>();
  #moduleObjects = new Map<string, GPUShaderModule>();
  #pipelineCount = 0;
  #uniforms = new Map<string, GPUBuffer>();
  #bindGroups = new Map<string, GPUBindGroup>();
  #maxBindGroups: number;
  #ids = new WeakMap<GPUBuffer | GPUTexture, number>();
  #nextId = 0;
  #retired: GPUBuffer[] = [];

  // Command batching.
  #encoder: GPUCommandEncoder | undefined;
  #pass: GPUComputePassEncoder | undefined;
  #pending = 0;
  #dispatches = 0;
  #submits = 0;
  #submitMs = 0;
  #batchOps = new Set<string>();
  #op = "";
  #scratch: GpuStorage[] = [];

  // Errors.
  #error: { error: Error; known: boolean } | undefined;
  #lostError: Error | undefined;
  #lost: Promise<false>;
  #scopes = new Set<Promise<void>>();
  /** Counts thrown errors: scopes opened before a throw report nothing after it. */
  #generation = 0;
  #labels = new Set<string>(OP_NAMES);

  #ctx: GpuContext;

  private constructor(device: GPUDevice, info: GPUAdapterInfo, options: WebGpuOptions) {
    this.implementation = options.implementation ?? "deno";
    this.device = device;
    this.adapterInfo = info;
    this.#kernels = { ...WEBGPU_KERNELS, ...options.kernels } as GpuKernelTable;
    this.#flushEvery = options.flushEvery ?? 256;
    this.#maxUniforms = options.maxUniforms ?? 4096;
    this.#maxBindGroups = options.maxBindGroups ?? 8192;
    this.#maxBinding = Math.min(
      device.limits.maxStorageBufferBindingSize,
      device.limits.maxBufferSize,
    );
    this.#lost = device.lost.then((info) => {
      this.#lostError = new Error(
        `WebGPU device lost (${info.reason ?? "unknown"}${
          info.message ? `: ${info.message}` : ""
        })` +
          `${this.#op ? ` after op "${this.#op}"` : ""}`,
      );
      return false as const;
    });
    device.addEventListener("uncapturederror", (e) => {
      this.#record((e as GPUUncapturedErrorEvent).error.message);
    });
    this.#ctx = {
      device,
      dispatch: (d: Dispatch): void => this.#dispatch(d),
      scratch: (bytes: number): GPUBuffer => {
        const s = this.#alloc(bytes, `${this.#op}:scratch`);
        this.#scratch.push(s);
        return s.buffer;
      },
      scratchTexture: (width: number, height: number, format: GPUTextureFormat): GPUTexture => {
        const key = `${width}x${height}:${format}`;
        let texture = this.#textures.get(key)?.pop();
        if (!texture) {
          texture = device.createTexture({
            label: `${this.#op}:texture`,
            size: [width, height],
            format,
            usage: TEXTURE_USAGE.TEXTURE_BINDING | TEXTURE_USAGE.STORAGE_BINDING |
              TEXTURE_USAGE.COPY_DST,
          });
          this.#textureAllocations++;
        }
        this.#scratchTextures.push([key, texture]);
        return texture;
      },
      variant: (op: string): string | undefined => this.#variants[op],
      copyToTexture: (src: GPUBuffer, dst: GPUTexture, layout: TextureCopy): void => {
        // Copies happen outside compute passes: close the open one (the next
        // dispatch opens another).
        this.#endPass();
        this.#encoder ??= device.createCommandEncoder({ label: "batch" });
        this.#encoder.copyBufferToTexture(
          { buffer: src, offset: layout.offset, bytesPerRow: layout.bytesPerRow },
          { texture: dst },
          [layout.width, layout.height],
        );
        this.#batchOps.add(this.#op);
        if (++this.#pending >= this.#flushEvery) this.#submit();
      },
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
      const info = adapter.info;
      const key = [
        backend.implementation,
        info.vendor,
        info.architecture,
        info.device,
        info.description,
      ].join("|");
      let tuned = TUNED.get(key);
      if (!tuned) {
        tuned = backend.#tune();
        // Replacement kernels would skew the measurement for other backends.
        if (!options.kernels) {
          TUNED.set(key, tuned);
          tuned.catch(() => TUNED.delete(key));
        }
      }
      backend.#variants = { ...(await tuned), ...options.variants };
    }
    return backend;
  }

  /** The kernel variant used for each op that has several. */
  variants(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const set of KERNEL_VARIANTS) out[set.op] = this.#variants[set.op] ?? set.variants[0];
    return out;
  }

  /** Times every variant of each op in {@link KERNEL_VARIANTS} and keeps the fastest. */
  async #tune(): Promise<Record<string, string>> {
    const chosen: Record<string, string> = {};
    const rng = new Rng(0);
    for (const set of KERNEL_VARIANTS) {
      const inputs = set.shapes.map((shape) => ({
        storage: this.upload(rng.normals(sizeOf(shape))),
        shape,
        dtype: "float32" as const,
      }));
      const spec = SHAPE_RULES[set.op](set.shapes, inputs.map(() => "float32"), set.attrs as never);
      /** Milliseconds per call, over `calls` calls and one read. */
      const perCall = async (calls: number): Promise<number> => {
        const start = performance.now();
        let out: GpuStorage | undefined;
        for (let i = 0; i < calls; i++) {
          if (out) this.release(out);
          out = this.run(set.op, inputs, set.attrs, spec);
        }
        await this.read(out!, "float32", 1);
        this.release(out!);
        return (performance.now() - start) / calls;
      };
      let best = Infinity;
      for (const name of set.variants) {
        this.#variants[set.op] = name;
        let ms: number;
        try {
          await perCall(1); // compile and warm up
          // Batch quick kernels until the batch takes 20 ms, so that the
          // read's latency does not dominate.
          let calls = 1;
          ms = await perCall(calls);
          while (ms * calls < 20 && calls < 256) {
            calls *= 4;
            ms = Math.min(ms, await perCall(calls));
          }
        } catch (e) {
          if (this.#lostError) throw e;
          continue; // a variant this adapter cannot run is never chosen
        }
        if (ms < best) {
          best = ms;
          chosen[set.op] = name;
        }
      }
      for (const i of inputs) this.release(i.storage);
    }
    return chosen;
  }

  // -------------------------------------------------------------------------
  // Backend

  /** Copies `data` into a pooled storage buffer. */
  upload(data: TypedArray): GpuStorage {
    this.#throwIfFailed();
    const s = this.#alloc(data.byteLength, "upload");
    // queue.writeBuffer runs before commands not yet submitted: if a pending
    // dispatch still reads this (released) buffer, submit that work first.
    if (this.#pending > 0 && this.#releasedInBatch.has(s.buffer)) this.#submit();
    if (data.byteLength > 0) {
      this.device.queue.writeBuffer(s.buffer, 0, data as Float32Array<ArrayBuffer>);
    }
    return s;
  }

  /** Submits pending work and reads `size` elements of `storage` back. */
  async read(storage: GpuStorage, dtype: DType, size: number): Promise<TypedArray> {
    this.#throwIfFailed();
    const bytes = size * 4;
    if (bytes > storage.bytes) {
      throw new Error(`Cannot read ${size} elements from a ${storage.bytes}-byte buffer`);
    }
    if (bytes === 0) {
      await this.#submitAndSettle();
      return dtype === "int32" ? new Int32Array(0) : new Float32Array(0);
    }
    const stagingSize = poolSize(bytes);
    const staging = this.#staging.get(stagingSize)?.pop() ?? this.#newStaging(stagingSize);
    this.#endPass();
    this.#encoder ??= this.device.createCommandEncoder({ label: "batch" });
    this.#encoder.copyBufferToBuffer(storage.buffer, 0, staging, 0, bytes);
    this.#submit();
    let mapped: boolean;
    try {
      mapped = await Promise.race([
        staging.mapAsync(MAP_MODE_READ, 0, bytes).then(() => true as const),
        this.#lost,
      ]);
    } catch (e) {
      staging.destroy();
      await this.#settle();
      this.#throwIfFailed();
      throw new Error(`WebGPU read failed: ${e instanceof Error ? e.message : e}`);
    }
    if (!mapped) {
      throw this.#lostError ?? new Error("WebGPU device lost");
    }
    const data = staging.getMappedRange(0, bytes).slice(0);
    staging.unmap();
    this.#pushPool(this.#staging, stagingSize, staging);
    await this.#settle();
    this.#throwIfFailed();
    return dtype === "int32" ? new Int32Array(data) : new Float32Array(data);
  }

  /** Records op `op`'s kernel into a new pooled output buffer. */
  run<P extends OpName>(
    op: P,
    inputs: KernelInput<GpuStorage>[],
    attrs: OpAttrs[P],
    out: OutSpec,
  ): GpuStorage {
    this.#throwIfFailed();
    const storage = this.#alloc(sizeOf(out.shape) * 4, op);
    const kernel = this.#kernels[op] as GpuKernel<P>;
    this.#op = op;
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
      for (const [key, t] of this.#scratchTextures) {
        const list = this.#textures.get(key);
        if (list) list.push(t);
        else this.#textures.set(key, [t]);
      }
      this.#scratchTextures.length = 0;
    }
    return storage;
  }

  /** Returns `storage` to the pool (a second release is ignored). */
  release(storage: GpuStorage): void {
    if (!this.#live.delete(storage)) return;
    this.#bytesInUse -= storage.bytes;
    this.#bytesPooled += storage.bytes;
    this.#pushPool(this.#pool, storage.bytes, storage.buffer);
    if (this.#pending > 0) this.#releasedInBatch.add(storage.buffer);
  }

  /** Submits all recorded dispatches; throws a recorded GPU error. */
  flush(): void {
    this.#throwIfFailed();
    this.#submit();
  }

  /** Bytes in live storages and in the pool, and counts of GPU allocations. */
  memory(): GpuMemoryInfo {
    return {
      bytesInUse: this.#bytesInUse,
      bytesPooled: this.#bytesPooled,
      allocations: this.#allocations,
      stagingAllocations: this.#stagingAllocations,
      uniformBuffers: this.#uniforms.size,
      bindGroups: this.#bindGroups.size,
      pipelines: this.#pipelineCount,
      textureAllocations: this.#textureAllocations,
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
      this.#lost,
    ]);
    if (!done) throw this.#lostError ?? new Error("WebGPU device lost");
    await this.#settle();
    this.#throwIfFailed();
  }

  /** Work issued since the backend was created (for benchmarks). */
  counters(): GpuCounters {
    return { dispatches: this.#dispatches, submits: this.#submits, submitMs: this.#submitMs };
  }

  /** Frees the pooled buffers (live storages stay valid). */
  trim(): void {
    this.#submit();
    for (const list of this.#pool.values()) for (const b of list) b.destroy();
    this.#pool.clear();
    // Cached bind groups would keep the destroyed buffers' objects alive.
    this.#bindGroups.clear();
    for (const list of this.#textures.values()) for (const t of list) t.destroy();
    this.#textures.clear();
    this.#bytesPooled = 0;
  }

  /** Destroys the device; every later call fails. */
  destroy(): void {
    this.#encoder = undefined;
    this.#pass = undefined;
    // Fail from now on rather than when `device.lost` settles: work started
    // on a destroyed device may never settle (Dawn aborts the process when
    // such a promise is collected unsettled).
    this.#lostError ??= new Error("WebGPU device lost (destroyed by WebGpuBackend.destroy)");
    this.device.destroy();
  }

  // -------------------------------------------------------------------------
  // Pool

  #pushPool(pool: Map<number, GPUBuffer[]>, size: number, buffer: GPUBuffer): void {
    const list = pool.get(size);
    if (list) list.push(buffer);
    else pool.set(size, [buffer]);
  }

  #alloc(bytes: number, label: string): GpuStorage {
    let size = poolSize(bytes);
    if (size > this.#maxBinding) {
      size = Math.max(16, Math.ceil(bytes / 16) * 16);
      if (size > this.#maxBinding) {
        throw new Error(
          `Cannot allocate ${bytes} bytes for ${label}: over this device's storage buffer limit of ${this.#maxBinding} bytes`,
        );
      }
    }
    let buffer = this.#pool.get(size)?.pop();
    if (buffer) {
      this.#bytesPooled -= size;
    } else {
      buffer = this.device.createBuffer({ label: `${label}:storage`, size, usage: STORAGE_USAGE });
      this.#allocations++;
    }
    this.#bytesInUse += size;
    const storage: GpuStorage = { buffer, bytes: size };
    this.#live.add(storage);
    return storage;
  }

  #newStaging(size: number): GPUBuffer {
    this.#stagingAllocations++;
    return this.device.createBuffer({
      label: "read:staging",
      size,
      usage: BUFFER_USAGE.MAP_READ | BUFFER_USAGE.COPY_DST,
    });
  }

  // -------------------------------------------------------------------------
  // Dispatch

  #pipeline(d: Dispatch): Pipeline {
    let pipelines = this.#modules.get(d.code);
    if (!pipelines) {
      pipelines = new Map();
      this.#modules.set(d.code, pipelines);
    }
    const entryPoint = d.entryPoint ?? "main";
    let key = entryPoint;
    if (d.constants) { for (const k in d.constants) key += `|${k}=${d.constants[k]}`; }
    let p = pipelines.get(key);
    if (p) return p;
    // Compile errors surface asynchronously; scope them so they name the op.
    this.device.pushErrorScope("validation");
    this.device.pushErrorScope("internal");
    let module = this.#moduleObjects.get(d.code);
    if (!module) {
      module = this.device.createShaderModule({ label: d.label, code: d.code });
      this.#moduleObjects.set(d.code, module);
    }
    const pipeline = this.device.createComputePipeline({
      label: d.label,
      layout: "auto",
      compute: { module, entryPoint, constants: d.constants },
    });
    p = { pipeline, layout: pipeline.getBindGroupLayout(0), id: ++this.#nextId };
    this.#watch(this.device.popErrorScope(), d.label);
    this.#watch(this.device.popErrorScope(), d.label);
    pipelines.set(key, p);
    this.#pipelineCount++;
    return p;
  }

  #uniformBuffer(bytes: ArrayBuffer, label: string): GPUBuffer {
    const words = new Uint16Array(bytes);
    const key = String.fromCharCode.apply(null, words as unknown as number[]);
    let buffer = this.#uniforms.get(key);
    if (buffer) {
      // Most recently used goes last (Map keeps insertion order).
      this.#uniforms.delete(key);
      this.#uniforms.set(key, buffer);
      return buffer;
    }
    const size = Math.max(16, Math.ceil(bytes.byteLength / 16) * 16);
    buffer = this.device.createBuffer({
      label: `${label}:uniforms`,
      size,
      usage: BUFFER_USAGE.UNIFORM,
      mappedAtCreation: true,
    });
    new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(bytes));
    buffer.unmap();
    this.#uniforms.set(key, buffer);
    if (this.#uniforms.size > this.#maxUniforms) {
      const [oldKey, old] = this.#uniforms.entries().next().value!;
      this.#uniforms.delete(oldKey);
      // Pending dispatches may still bind it: destroy after the next submit.
      this.#retired.push(old);
    }
    return buffer;
  }

  #dispatch(d: Dispatch): void {
    const [x, y = 1, z = 1] = d.workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    this.#labels.add(d.label);
    const p = this.#pipeline(d);
    const uniform = d.uniforms ? this.#uniformBuffer(d.uniforms, d.label) : undefined;
    // Training steps repeat the same (pipeline, buffers) combinations, since
    // the pool hands buffers out in the same order every step: reuse their
    // bind groups instead of creating ~200 per step.
    let key = `${p.id}`;
    if (uniform) key += `,${this.#idOf(uniform)}`;
    for (const b of d.buffers) key += `,${this.#idOf(b)}`;
    if (d.bindings) key += `|${d.bindings.join(",")}`;
    let group = this.#bindGroups.get(key);
    if (group) {
      this.#bindGroups.delete(key);
    } else {
      // Scoped like the pipeline: an invalid layout or binding names the op,
      // and arrives with the other errors of the op instead of ahead of them
      // (Dawn fires uncaptured errors synchronously, inside the call).
      this.device.pushErrorScope("validation");
      group = this.#createBindGroup(d, p.layout, uniform);
      this.#watch(this.device.popErrorScope(), d.label);
      if (this.#bindGroups.size >= this.#maxBindGroups) {
        this.#bindGroups.delete(this.#bindGroups.keys().next().value!);
      }
    }
    this.#bindGroups.set(key, group);
    const pipeline = p.pipeline;
    if (!this.#pass) {
      this.#encoder ??= this.device.createCommandEncoder({ label: "batch" });
      this.#pass = this.#encoder.beginComputePass({ label: "batch" });
    }
    this.#pass.setPipeline(pipeline);
    this.#pass.setBindGroup(0, group);
    this.#pass.dispatchWorkgroups(x, y, z);
    this.#dispatches++;
    this.#batchOps.add(d.label);
    if (++this.#pending >= this.#flushEvery) this.#submit();
  }

  #createBindGroup(
    d: Dispatch,
    layout: GPUBindGroupLayout,
    uniform: GPUBuffer | undefined,
  ): GPUBindGroup {
    const entries: GPUBindGroupEntry[] = [];
    if (uniform) entries.push({ binding: 0, resource: { buffer: uniform } });
    for (const [i, b] of d.buffers.entries()) {
      let resource: GPUBindingResource;
      // Not `instanceof GPUTexture`: Dawn's classes are not Deno's globals.
      if (isTexture(b)) {
        let view = this.#views.get(b);
        if (!view) {
          view = b.createView({ label: d.label });
          this.#views.set(b, view);
        }
        resource = view;
      } else {
        resource = { buffer: b };
      }
      entries.push({ binding: d.bindings?.[i] ?? entries.length, resource });
    }
    return this.device.createBindGroup({ label: d.label, layout, entries });
  }

  /** A number naming a buffer or texture for cache keys (never reused). */
  #idOf(resource: GPUBuffer | GPUTexture): number {
    let id = this.#ids.get(resource);
    if (id === undefined) {
      id = ++this.#nextId;
      this.#ids.set(resource, id);
    }
    return id;
  }

  #endPass(): void {
    this.#pass?.end();
    this.#pass = undefined;
  }

  #submit(): void {
    this.#endPass();
    const encoder = this.#encoder;
    this.#encoder = undefined;
    const ops = [...this.#batchOps];
    this.#batchOps.clear();
    this.#pending = 0;
    this.#releasedInBatch.clear();
    if (encoder) {
      const start = performance.now();
      this.device.pushErrorScope("validation");
      this.device.queue.submit([encoder.finish({ label: "batch" })]);
      this.#watch(this.device.popErrorScope(), undefined, ops);
      this.#submitMs += performance.now() - start;
      this.#submits++;
    }
    for (const b of this.#retired) b.destroy();
    this.#retired.length = 0;
  }

  async #submitAndSettle(): Promise<void> {
    this.#submit();
    await this.#settle();
    this.#throwIfFailed();
  }

  // -------------------------------------------------------------------------
  // Errors

  #watch(scope: Promise<GPUError | null>, label?: string, ops?: string[]): void {
    // An error is thrown once: what the same failed work reports later (an
    // invalid pipeline, then the bind group and the submit that use it) is
    // its consequence, not a new failure of later calls.
    const generation = this.#generation;
    const report = (message: string) => {
      if (generation === this.#generation) this.#record(message, label, ops);
    };
    const p = scope.then((err) => {
      if (err) report(err.message);
    }, (e) => report(String(e)));
    this.#scopes.add(p);
    p.finally(() => this.#scopes.delete(p));
  }

  /** Waits for the pending error scopes to report. */
  async #settle(): Promise<void> {
    if (this.#scopes.size > 0) await Promise.all([...this.#scopes]);
  }

  /** Keeps the first error, preferring one whose op is known. */
  #record(message: string, label?: string, ops?: string[]): void {
    let op = label;
    if (!op) {
      // Labels are quoted: 'neg:storage' (wgpu), "neg:storage" (Dawn).
      for (const m of message.matchAll(/["']([^"']+)["']/g)) {
        const name = m[1].split(":")[0];
        if (this.#labels.has(name)) {
          op = name;
          break;
        }
      }
    }
    const known = op !== undefined;
    if (this.#error && (this.#error.known || !known)) return;
    const where = op
      ? `op "${op}"`
      : ops && ops.length
      ? `one of the ops ${ops.map((o) => `"${o}"`).join(", ")}`
      : `op "${this.#op}"`;
    this.#error = { error: new Error(`WebGPU error in ${where}: ${message.trim()}`), known };
  }

  #throwIfFailed(): void {
    if (this.#lostError) throw this.#lostError;
    const e = this.#error;
    if (e) {
      this.#error = undefined;
      this.#generation++;
      throw e.error;
    }
  }
}
