/**
 * The fast CPU backend: every tensor lives in one WebAssembly memory, the
 * ops that dominate training (matmul, convolution, pooling, batch norm,
 * elementwise, the fused AGD update) run as WebAssembly SIMD kernels
 * (`kernels.c`), and every other op runs the CPU reference loop on views of
 * that memory — so this backend computes what the reference defines, and is
 * tested against it op by op.
 *
 * @module
 */
import type { OpAttrs, OpName, PoolAttrs } from "../../op_name.ts";
import { type DType, type OutSpec, sizeOf } from "../../shape.ts";
import type { Backend, KernelInput, MemoryInfo, TypedArray } from "../backend.ts";
import type { CpuInput, CpuKernel, CpuOutput } from "../cpu/kernel.ts";
import { CPU_KERNELS } from "../cpu/kernels.ts";
import { KERNELS_WASM_BASE64, KERNELS_WASM_THREADS_BASE64 } from "./kernels_wasm.generated.ts";
import { CONTROL_INTS, type PoolKernels, type PoolOp, ThreadPool } from "./thread_pool.ts";

/** A tensor's place in the module's memory. */
export interface WasmStorage {
  /** Byte offset (16-byte aligned). */
  readonly ptr: number;
  /** Bytes reserved (a multiple of 16; the pool's size class). */
  readonly bytes: number;
}

/** A matmul as the op table calls it: C (+)= op(A)·op(B), pointers and sizes. */
type Matmul = (
  a: number,
  b: number,
  c: number,
  m: number,
  n: number,
  k: number,
  ta: number,
  tb: number,
  accumulate?: number,
) => void;

/**
 * kernels.c's col2im over the batch: the images (overwritten), N, C, H, W,
 * kh, kw, sh, sw, ph, pw, OH, OW, the patch matrix.
 */
type Col2im = (
  x: number,
  n: number,
  ...geometry: [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ]
) => void;

/** [a][b][p] → [b][a][p] from `src` to `dst`. */
type SwapOuter = (src: number, a: number, b: number, p: number, dst: number) => void;

/** What kernels.c exports besides matmul (the one-thread build also its memory). */
interface ElementKernels {
  memory?: WebAssembly.Memory;
  __heap_base: WebAssembly.Global;
  matmul_scratch_floats(): number;
  binary_same(op: number, a: number, b: number, out: number, n: number): void;
  affine(x: number, out: number, n: number, mul: number, add: number): void;
  bn_stats(x: number, n: number, c: number, s: number, out: number): void;
  batch_norm(
    x: number,
    stats: number,
    out: number,
    n: number,
    c: number,
    s: number,
    eps: number,
  ): void;
  batch_norm_grad(
    dy: number,
    x: number,
    stats: number,
    out: number,
    n: number,
    c: number,
    s: number,
    eps: number,
  ): void;
  scaled_relu(x: number, out: number, n: number, scale: number): void;
  relu_grad(dy: number, x: number, out: number, n: number, scale: number): void;
  flip_kernel(w: number, o: number, c: number, kh: number, kw: number, out: number): void;
  agd_terms(x: number, rows: number, slices: number, weight: number, out: number): void;
  agd_update(
    w: number,
    g: number,
    terms: number,
    eta: number,
    out: number,
    n: number,
    slices: number,
    mul: number,
  ): void;
}

/** What kernels.c exports: its matmul computes part `part` of `parts`, with a thread's scratch. */
interface KernelExports extends ElementKernels, PoolKernels {}

/**
 * The kernels as the op table calls them: matmul spread over the threads,
 * and scratch memory for the duration of one op.
 */
interface Kernels extends ElementKernels {
  matmul: Matmul;
  col2im: Col2im;
  swap_outer: SwapOuter;
  /** kernels.c's conv_gemm without its scratch, counter and thread count (see {@link PoolKernels}). */
  conv_gemm: (...args: number[]) => void;
  /** kernels.c's pool without its scratch, counter and thread count (see {@link PoolKernels}). */
  pool: (...args: number[]) => void;
  /** Floats of the scratch each thread's pool call may use. */
  scratchFloats: number;
  /** Byte offset of `bytes` of scratch, valid until the op returns. */
  scratch(bytes: number): number;
}

/**
 * An op the SIMD kernels run in place of the reference loop (inputs and
 * output as byte offsets); false hands this call to the reference.
 */
type WasmKernel<P extends OpName> = (
  ex: Kernels,
  inputs: KernelInput<WasmStorage>[],
  attrs: OpAttrs[P],
  out: { ptr: number; shape: readonly number[] },
) => boolean | void;

/**
 * The ops with a SIMD kernel (those that dominate a training step); the rest
 * run their reference loop. A kernel returns false to hand a case it does
 * not cover (e.g. broadcasting) to the reference.
 */
const WASM_KERNELS: { [P in OpName]?: WasmKernel<P> } = {
  matmul: (ex, [a, b], attrs, out) => {
    const [m, n] = out.shape;
    const k = attrs.transA ? a.shape[0] : a.shape[1];
    ex.matmul(a.storage.ptr, b.storage.ptr, out.ptr, m, n, k, +attrs.transA, +attrs.transB);
  },
  // One GEMM over the batch whose B is the patch matrix, packed from x as it
  // goes (implicit GEMM), for conv2d and its weight gradient; the input
  // gradient scatters Wᵀ·dY' back into the image (col2im; see kernels.c).
  conv2d: (ex, [x, w], { stride, padding }, out) => {
    const g = convGeometry(x.shape, w.shape, out.shape, stride, padding);
    const o = w.shape[0];
    const y = ex.scratch(4 * o * g.np);
    ex.conv_gemm(0, w.storage.ptr, x.storage.ptr, y, o, g.n, ...g.args);
    ex.swap_outer(y, o, g.n, g.p, out.ptr);
  },
  conv2d_grad_input: (ex, [dy, w], { stride, padding }, out) => {
    const g = convGeometry(out.shape, w.shape, dy.shape, stride, padding);
    const [o, c, kh, kw] = w.shape;
    const [ph, pw] = padding;
    if (stride[0] === 1 && stride[1] === 1 && ph < kh && pw < kw && c >= TRANSPOSED_MIN_CHANNELS) {
      // At stride 1, dX is dY convolved with the flipped, transposed kernel
      // (padding k − 1 − p): the forward's implicit GEMM, no patch matrix.
      const [, , h, wd] = out.shape;
      const [, , oh, ow] = dy.shape;
      const flipped = ex.scratch(4 * sizeOf(w.shape));
      ex.flip_kernel(w.storage.ptr, o, c, kh, kw, flipped);
      const y = ex.scratch(4 * c * g.n * g.hw);
      const geometry = [o, oh, ow, kh, kw, 1, 1, kh - 1 - ph, kw - 1 - pw, h, wd];
      ex.conv_gemm(0, flipped, dy.storage.ptr, y, c, g.n, ...geometry);
      return void ex.swap_outer(y, c, g.n, g.hw, out.ptr);
    }
    const dyc = ex.scratch(4 * o * g.np);
    ex.swap_outer(dy.storage.ptr, g.n, o, g.p, dyc);
    const dcol = ex.scratch(4 * g.k * g.np);
    ex.matmul(w.storage.ptr, dyc, dcol, g.k, g.np, o, 1, 0);
    if (g.direct) return void ex.swap_outer(dcol, g.c, g.n, g.p, out.ptr);
    ex.col2im(out.ptr, g.n, ...g.args, dcol);
  },
  conv2d_grad_weight: (ex, [x, dy], { stride, padding, kernel }, out) => {
    const o = dy.shape[1];
    const g = convGeometry(x.shape, [o, x.shape[1], ...kernel], dy.shape, stride, padding);
    const dyc = ex.scratch(4 * o * g.np);
    ex.swap_outer(dy.storage.ptr, g.n, o, g.p, dyc);
    ex.conv_gemm(1, dyc, x.storage.ptr, out.ptr, o, g.n, ...g.args);
  },
  max_pool2d: (ex, [x], attrs, out) =>
    pool(ex, 0, x.shape, out.shape, attrs, x.storage.ptr, 0, out),
  max_pool2d_grad: (ex, [x, dy], attrs, out) => {
    // The plane's double sums must fit a thread's scratch; larger planes take the reference.
    if (2 * x.shape[2] * x.shape[3] > ex.scratchFloats) return false;
    pool(ex, 1, x.shape, dy.shape, attrs, x.storage.ptr, dy.storage.ptr, out);
    return true;
  },
  avg_pool2d: (ex, [x], attrs, out) =>
    pool(ex, 2, x.shape, out.shape, attrs, x.storage.ptr, 0, out),
  avg_pool2d_grad: (ex, [dy], attrs, out) =>
    pool(ex, 3, out.shape, dy.shape, attrs, 0, dy.storage.ptr, out),
  add: (ex, inputs, _attrs, out) => binarySame(ex, 0, inputs, out),
  sub: (ex, inputs, _attrs, out) => binarySame(ex, 1, inputs, out),
  mul: (ex, inputs, _attrs, out) => binarySame(ex, 2, inputs, out),
  div: (ex, inputs, _attrs, out) => binarySame(ex, 3, inputs, out),
  affine: (ex, [x], { mul, add }, out) => {
    if (x.dtype !== "float32") return false;
    ex.affine(x.storage.ptr, out.ptr, sizeOf(out.shape), mul, add);
    return true;
  },
  bn_stats: (ex, [x], _attrs, out) => {
    const [n, c, s] = channelDims(x.shape);
    ex.bn_stats(x.storage.ptr, n, c, s, out.ptr);
  },
  batch_norm: (ex, [x, stats], { eps }, out) => {
    const [n, c, s] = channelDims(x.shape);
    ex.batch_norm(x.storage.ptr, stats.storage.ptr, out.ptr, n, c, s, eps);
  },
  batch_norm_grad: (ex, [dy, x, stats], { eps }, out) => {
    const [n, c, s] = channelDims(x.shape);
    ex.batch_norm_grad(dy.storage.ptr, x.storage.ptr, stats.storage.ptr, out.ptr, n, c, s, eps);
  },
  relu: (ex, [x], _attrs, out) => ex.scaled_relu(x.storage.ptr, out.ptr, sizeOf(out.shape), 1),
  scaled_relu: (ex, [x], { scale }, out) =>
    ex.scaled_relu(x.storage.ptr, out.ptr, sizeOf(out.shape), scale),
  relu_grad: (ex, [dy, x], { scale }, out) => {
    const n = sizeOf(out.shape);
    if (sizeOf(dy.shape) !== n || sizeOf(x.shape) !== n) return false;
    ex.relu_grad(dy.storage.ptr, x.storage.ptr, out.ptr, n, scale);
    return true;
  },
  agd_terms: (ex, inputs, { weights }, out) => {
    let offset = 0;
    inputs.forEach((x, k) => {
      const slices = sizeOf(x.shape.slice(2));
      ex.agd_terms(
        x.storage.ptr,
        x.shape[0] * x.shape[1],
        slices,
        weights[k],
        out.ptr + 4 * offset,
      );
      offset += slices;
    });
  },
  agd_update: (ex, [w, g, terms, eta], { offset, mul }, out) => {
    const slices = sizeOf(w.shape.slice(2));
    const n = sizeOf(out.shape);
    ex.agd_update(
      w.storage.ptr,
      g.storage.ptr,
      terms.storage.ptr + 4 * offset,
      eta.storage.ptr,
      out.ptr,
      n,
      slices,
      mul,
    );
  },
};

/** A pooling op (kernels.c's `pool` op code) between input [N, C, H, W] and output [N, C, OH, OW] shapes. */
function pool(
  ex: Kernels,
  op: number,
  [n, c, h, w]: readonly number[],
  [, , oh, ow]: readonly number[],
  { kernel, stride, padding }: PoolAttrs,
  x: number,
  dy: number,
  out: { ptr: number },
): void {
  ex.pool(op, x, dy, out.ptr, n * c, h, w, ...kernel, ...stride, ...padding, oh, ow);
}

/** N, C and S (the trailing size) of a batch-norm operand [N, C, ...]. */
function channelDims(shape: readonly number[]): [number, number, number] {
  return [shape[0], shape[1], sizeOf(shape.slice(2))];
}

/** a ∘ b when both have the output's size (no broadcasting); false hands broadcasting to the reference. */
function binarySame(
  ex: Kernels,
  op: number,
  [a, b]: KernelInput<WasmStorage>[],
  out: { ptr: number; shape: readonly number[] },
): boolean {
  const n = sizeOf(out.shape);
  if (sizeOf(a.shape) !== n || sizeOf(b.shape) !== n || a.dtype !== "float32") return false;
  ex.binary_same(op, a.storage.ptr, b.storage.ptr, out.ptr, n);
  return true;
}

/** A convolution's sizes as the im2col GEMMs see them. */
interface ConvGeometry {
  /** Images. */
  n: number;
  /** Input channels. */
  c: number;
  /** Input pixels per channel. */
  hw: number;
  /** Output pixels per channel. */
  p: number;
  /** Output pixels of the batch, N·P (the GEMMs' columns). */
  np: number;
  /** C·kh·kw (the GEMMs' K). */
  k: number;
  /** A 1×1, stride-1, unpadded convolution: its patch matrix is the image, channel-major (no col2im). */
  direct: boolean;
  /** im2col/col2im's size arguments: C, H, W, kh, kw, sh, sw, ph, pw, OH, OW. */
  args: [number, number, number, number, number, number, number, number, number, number, number];
}

function convGeometry(
  x: readonly number[],
  w: readonly number[],
  y: readonly number[],
  [sh, sw]: readonly number[],
  [ph, pw]: readonly number[],
): ConvGeometry {
  const [n, c, h, wd] = x;
  const [, , kh, kw] = w;
  const [, , oh, ow] = y;
  return {
    n,
    c,
    hw: h * wd,
    p: oh * ow,
    np: n * oh * ow,
    k: c * kh * kw,
    direct: kh === 1 && kw === 1 && sh === 1 && sw === 1 && ph === 0 && pw === 0,
    args: [c, h, wd, kh, kw, sh, sw, ph, pw, oh, ow],
  };
}

const PAGE = 65536;
/**
 * Input channels from which a stride-1 input gradient runs as the forward
 * convolution of dY (its GEMM has C rows): measured at ResNet-18's shapes
 * (b32), 64–256 channels take 0.79–0.83× the time of GEMM + col2im, 512 on
 * 4×4 about the same, and the 3-channel stem 3.3× as long (its rows fill
 * half of a 6-row tile).
 */
const TRANSPOSED_MIN_CHANNELS = 16;
/** The threads build's memory limit (its `--max-memory`): 2 GiB. */
const MAX_PAGES = 32768;
/** Below this many multiply-adds a matmul runs on one thread (waking the others costs more). */
const PARALLEL_MACS = 1 << 18;
/** Below this many floats moved, col2im, permutes and pools run on one thread. */
const PARALLEL_FLOATS = 1 << 16;

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
 * import { WasmBackend } from "./wasm_backend.ts";
 * const wasm = await WasmBackend.create();
 * const a = wasm.upload(new Float32Array([1, 2, 3, 4]));
 * const c = wasm.run("matmul", [
 *   { storage: a, shape: [2, 2], dtype: "float32" },
 *   { storage: a, shape: [2, 2], dtype: "float32" },
 * ], { transA: false, transB: false }, { shape: [2, 2], dtype: "float32" });
 * console.log(await wasm.read(c, "float32", 4)); // Float32Array [7, 10, 15, 22]
 * ```
 */
export class WasmBackend implements Backend<WasmStorage> {
  /** Always `wasm`. */
  readonly name: string = "wasm";
  #ex: Kernels;
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
  /** Byte offset of the task counter of kernel calls on this thread alone. */
  #next = 0;

  /** The one-thread task counter, zeroed for a new call. */
  #counter(): number {
    new Int32Array(this.#memory.buffer, this.#next, 1)[0] = 0;
    return this.#next;
  }

  /**
   * Runs a task-taking kernel: on every thread when there are threads and
   * the call is `big` enough to repay waking them, else on this one alone.
   * `call` runs this thread's share, given the task counter and the thread count.
   */
  #spread(
    op: PoolOp,
    args: readonly number[],
    big: boolean,
    call: (next: number, parts: number) => void,
  ): void {
    const threads = this.#threads;
    if (threads && big) threads.run(op, args, call);
    else call(this.#counter(), 1);
  }

  private constructor(ex: KernelExports, memory: WebAssembly.Memory) {
    this.#memory = memory;
    this.#top = align(ex.__heap_base.value as number);
    this.#scratchBytes = 4 * ex.matmul_scratch_floats();
    const scratch = this.#reserve(this.#scratchBytes);
    // The task counter of calls on this thread alone.
    this.#next = this.#reserve(16);
    this.#ex = {
      ...ex,
      matmul: (a, b, c, m, n, k, ta, tb, accumulate = 0) =>
        this.#spread(
          "matmul",
          [a, b, c, m, n, k, ta, tb, accumulate],
          m * n * k >= PARALLEL_MACS,
          (at, parts) => ex.matmul(a, b, c, m, n, k, ta, tb, accumulate, scratch, at, parts),
        ),
      col2im: (...args) => {
        const [, n, c, , , kh, kw, , , , , oh, ow] = args;
        const big = n > 1 && n * c * kh * kw * oh * ow >= PARALLEL_FLOATS;
        this.#spread("col2im", args, big, (at) => ex.col2im(...args, at));
      },
      swap_outer: (src, a, b, p, dst) =>
        this.#spread(
          "swap_outer",
          [src, a, b, p, dst],
          a * b * p >= PARALLEL_FLOATS,
          (at, parts) => ex.swap_outer(src, a, b, p, dst, at, parts),
        ),
      conv_gemm: (...args) => {
        const [, , , , o, n, c, , , kh, kw, , , , , oh, ow] = args;
        const big = o * n * oh * ow * c * kh * kw >= PARALLEL_MACS;
        this.#spread(
          "conv_gemm",
          args,
          big,
          (at, parts) => ex.conv_gemm(...args, scratch, at, parts),
        );
      },
      pool: (...args) => {
        const [, , , , planes, h, w] = args;
        const big = planes > 1 && planes * h * w >= PARALLEL_FLOATS;
        this.#spread("pool", args, big, (at, parts) => ex.pool(...args, scratch, at, parts));
      },
      scratchFloats: ex.matmul_scratch_floats(),
      scratch: (bytes) => {
        const s = this.#allocate(bytes);
        this.#temps.push(s);
        return s.ptr;
      },
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
      const backend = new WasmBackend(instance.exports as unknown as KernelExports, memory);
      const control = backend.#reserve(4 * CONTROL_INTS);
      const scratch = Array.from(
        { length: threads - 1 },
        () => backend.#reserve(backend.#scratchBytes),
      );
      backend.#threads = await ThreadPool.start(module, memory, control, [0, ...scratch]);
      return backend;
    }
    const instance = await WebAssembly.instantiate(await kernelsModule(KERNELS_WASM_BASE64), {});
    const ex = instance.exports as unknown as KernelExports;
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

  /** Runs `op`: its SIMD kernel where it has one, else its reference loop on views of the memory. */
  run<P extends OpName>(
    op: P,
    inputs: KernelInput<WasmStorage>[],
    attrs: OpAttrs[P],
    out: OutSpec,
  ): WasmStorage {
    const size = sizeOf(out.shape);
    const s = this.#allocate(size * 4);
    const fast = WASM_KERNELS[op] as WasmKernel<P> | undefined;
    if (fast) {
      let done: boolean | void;
      try {
        done = fast(this.#ex, inputs, attrs, { ptr: s.ptr, shape: out.shape });
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
    (CPU_KERNELS[op] as CpuKernel<P>)(views, attrs, output);
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
