/**
 * The small interface every device implements. A backend owns opaque storage
 * handles; tensors hold them and call `run` with the op's output spec already
 * computed by {@link SHAPE_RULES}, so kernels never re-derive shapes.
 *
 * @module
 */
import type { OpAttrs, OpName } from "../ops/op_name.ts";
import type { DType, OutSpec, Shape } from "../shape.ts";

/** Typed array for a dtype. */
export type TypedArray = Float32Array | Int32Array;

/** An input of a kernel: its storage plus the logical shape and dtype. */
export interface KernelInput<S> {
  /** Backend storage holding at least `sizeOf(shape)` elements. */
  storage: S;
  /** Logical shape. */
  shape: Shape;
  /** Element type. */
  dtype: DType;
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
  /** Runs a primitive op, returning new storage for its output. */
  run<P extends OpName>(op: P, inputs: KernelInput<S>[], attrs: OpAttrs[P], out: OutSpec): S;
  /** Gives storage back (to a pool); the handle must not be used again. */
  release(storage: S): void;
  /** Starts any queued work (a no-op where work runs eagerly). */
  flush(): void;
  /** Bytes held now. */
  memory(): MemoryInfo;
}
