/**
 * The CPU reference backend: storage is a plain typed array and every op runs
 * its reference loop (the `cpu` part of its definition, `ops/registry.ts`) eagerly.
 *
 * @module
 */
import { type DType, type OutSpec, sizeOf } from "../../shape.ts";
import type { Backend, KernelInput, MemoryInfo, OpKernels, TypedArray } from "../backend.ts";

/**
 * A backend whose storages are typed arrays (Float32Array for float32,
 * Int32Array for int32) and whose ops are the reference loops. Work runs
 * eagerly, so `flush` does nothing; `release` only updates the accounting
 * that `memory()` reports (the garbage collector frees the array).
 *
 * @example
 * ```ts
 * import { OPS } from "../../ops/registry.ts";
 * import { CpuBackend } from "./cpu_backend.ts";
 * const cpu = new CpuBackend();
 * const a = cpu.upload(new Float32Array([1, 2, 3]));
 * const b = cpu.run(OPS.neg, [{ storage: a, shape: [3], dtype: "float32" }], {}, {
 *   shape: [3],
 *   dtype: "float32",
 * });
 * console.log(await cpu.read(b, "float32", 3)); // Float32Array [-1, -2, -3]
 * cpu.release(a);
 * cpu.release(b);
 * console.log(cpu.memory().bytesInUse); // 0
 * ```
 */
export class CpuBackend implements Backend<TypedArray> {
  /** Always `cpu`. */
  readonly name: string = "cpu";
  #live = new WeakSet<TypedArray>();
  #bytesInUse = 0;
  #allocations = 0;

  /** Counts a new storage as live. */
  #track<T extends TypedArray>(storage: T): T {
    this.#live.add(storage);
    this.#bytesInUse += storage.byteLength;
    this.#allocations++;
    return storage;
  }

  /** Copies `data` into a new storage of the same type. */
  upload(data: TypedArray): TypedArray {
    return this.#track(data.slice());
  }

  /** A copy of the first `size` elements of `storage`, as `dtype`'s array type. */
  read(storage: TypedArray, dtype: DType, size: number): Promise<TypedArray> {
    const head = storage.subarray(0, size);
    return Promise.resolve(dtype === "int32" ? Int32Array.from(head) : Float32Array.from(head));
  }

  /** Runs an op's reference kernel into a new zero-filled storage shaped by `out`. */
  run<A>(
    { cpu }: OpKernels<A>,
    inputs: KernelInput<TypedArray>[],
    attrs: A,
    out: OutSpec,
  ): TypedArray {
    const size = sizeOf(out.shape);
    const data = out.dtype === "int32" ? new Int32Array(size) : new Float32Array(size);
    cpu(
      inputs.map((x) => ({
        data: x.storage.subarray(0, sizeOf(x.shape)),
        shape: x.shape,
        dtype: x.dtype,
      })),
      attrs,
      { data, shape: out.shape },
    );
    return this.#track(data);
  }

  /** Stops counting `storage` as live (a second release is ignored). */
  release(storage: TypedArray): void {
    if (!this.#live.delete(storage)) return;
    this.#bytesInUse -= storage.byteLength;
  }

  /** Nothing to do: every op has already run. */
  flush(): void {}

  /** Bytes held by unreleased storages; nothing is pooled. */
  memory(): MemoryInfo {
    return { bytesInUse: this.#bytesInUse, bytesPooled: 0, allocations: this.#allocations };
  }
}
