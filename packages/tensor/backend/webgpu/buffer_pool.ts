/**
 * The storage buffers of the WebGPU backend, and the staging buffers its reads
 * copy through, both pooled by size class.
 *
 * Why a pool: creating a GPU buffer is far slower than reusing one, and a
 * training loop asks for the same sizes in the same order every step. Buffers
 * come from a pool keyed by size class (see {@link poolSize}), so a training
 * loop allocates nothing new after its first step (checked by
 * `tests/memory_test.ts`).
 *
 * @module
 */
import type { MemoryInfo } from "../backend.ts";
import { BUFFER_USAGE, STORAGE_USAGE } from "./gpu_flags.ts";

/** A tensor's storage on the GPU: a pooled buffer of at least the bytes it needs. */
export interface GpuStorage {
  /** The storage buffer (STORAGE | COPY_SRC | COPY_DST). */
  readonly buffer: GPUBuffer;
  /** The buffer's size in bytes (its pool size class). */
  readonly bytes: number;
}

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
 *
 * @param bytes the bytes needed
 * @returns the buffer size to allocate (at least 16)
 * @example
 * ```ts
 * import { poolSize } from "./buffer_pool.ts";
 * console.log(poolSize(17)); // 32
 * ```
 */
export function poolSize(bytes: number): number {
  const b = Math.max(16, Math.ceil(bytes / 16) * 16);
  if (b <= 65536) return b;
  const step = 2 ** Math.floor(Math.log2(b)) / 8;
  return Math.ceil(b / step) * step;
}

/** {@link MemoryInfo} plus the count of staging buffers created. */
export interface BufferPoolInfo extends MemoryInfo {
  /** MAP_READ staging buffers created for reads. */
  stagingAllocations: number;
}

/** Adds `buffer` to the free list of its size. */
function pushPool(pool: Map<number, GPUBuffer[]>, size: number, buffer: GPUBuffer): void {
  const list = pool.get(size);
  if (list) list.push(buffer);
  else pool.set(size, [buffer]);
}

/** Storage and staging buffers of one device, reused by size class. */
export class BufferPool {
  #device: GPUDevice;
  /** The largest buffer that can be bound as storage on this device. */
  #maxBinding: number;
  #free = new Map<number, GPUBuffer[]>();
  #live = new Set<GpuStorage>();
  #bytesInUse = 0;
  #bytesPooled = 0;
  #allocations = 0;
  #staging = new Map<number, GPUBuffer[]>();
  #stagingAllocations = 0;

  /** Pools buffers of `device`, within its storage binding and buffer size limits. */
  constructor(device: GPUDevice) {
    this.#device = device;
    this.#maxBinding = Math.min(
      device.limits.maxStorageBufferBindingSize,
      device.limits.maxBufferSize,
    );
  }

  /**
   * A storage of at least `bytes` bytes, from the pool or new (labelled
   * `label`, which names the op in GPU errors).
   *
   * @throws when `bytes` is over the device's storage buffer limit
   */
  alloc(bytes: number, label: string): GpuStorage {
    let size = poolSize(bytes);
    if (size > this.#maxBinding) {
      size = Math.max(16, Math.ceil(bytes / 16) * 16);
      if (size > this.#maxBinding) {
        throw new Error(
          `Cannot allocate ${bytes} bytes for ${label}: over this device's storage buffer limit of ${this.#maxBinding} bytes`,
        );
      }
    }
    let buffer = this.#free.get(size)?.pop();
    if (buffer) {
      this.#bytesPooled -= size;
    } else {
      buffer = this.#device.createBuffer({ label: `${label}:storage`, size, usage: STORAGE_USAGE });
      this.#allocations++;
    }
    this.#bytesInUse += size;
    const storage: GpuStorage = { buffer, bytes: size };
    this.#live.add(storage);
    return storage;
  }

  /**
   * Returns `storage` to the pool.
   *
   * @returns false when it was already released (a second release is ignored)
   */
  release(storage: GpuStorage): boolean {
    if (!this.#live.delete(storage)) return false;
    this.#bytesInUse -= storage.bytes;
    this.#bytesPooled += storage.bytes;
    pushPool(this.#free, storage.bytes, storage.buffer);
    return true;
  }

  /** A MAP_READ staging buffer of `size` bytes (a pool size class), pooled or new. */
  takeStaging(size: number): GPUBuffer {
    const staging = this.#staging.get(size)?.pop();
    if (staging) return staging;
    this.#stagingAllocations++;
    return this.#device.createBuffer({
      label: "read:staging",
      size,
      usage: BUFFER_USAGE.MAP_READ | BUFFER_USAGE.COPY_DST,
    });
  }

  /** Gives an unmapped staging buffer of `size` bytes back for the next read. */
  putStaging(size: number, staging: GPUBuffer): void {
    pushPool(this.#staging, size, staging);
  }

  /** Bytes in live storages and in the pool, and counts of buffers created. */
  memory(): BufferPoolInfo {
    return {
      bytesInUse: this.#bytesInUse,
      bytesPooled: this.#bytesPooled,
      allocations: this.#allocations,
      stagingAllocations: this.#stagingAllocations,
    };
  }

  /** Destroys the pooled storage buffers (live storages stay valid). */
  trim(): void {
    for (const list of this.#free.values()) for (const b of list) b.destroy();
    this.#free.clear();
    this.#bytesPooled = 0;
  }
}
