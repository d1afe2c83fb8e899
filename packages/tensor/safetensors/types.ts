/**
 * The types of a safetensors file as this package holds it in memory (element
 * types, one tensor, a whole file) and the error every reader and writer
 * throws.
 *
 * @module
 */

/**
 * Element types of the safetensors format that this module reads and writes.
 *
 * - `F32`, `F64`, `I32`, `I64`, `U8`: stored and returned as-is.
 * - `F16`, `BF16`: decoded to a `Float32Array` on read; encoded from one
 *   (round to nearest even) on write.
 * - `BOOL`: one byte per element (0 or 1), held in a `Uint8Array`.
 *
 * @example
 * ```ts
 * import type { SafetensorsDType } from "./types.ts";
 * const dtype: SafetensorsDType = "F32";
 * console.log(dtype);
 * ```
 */
export type SafetensorsDType = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "U8" | "BOOL";

/** The typed array that holds a {@link SafeTensor}'s elements. */
export type SafeTensorData = Float32Array | Int32Array | BigInt64Array | Uint8Array | Float64Array;

/**
 * One tensor of a safetensors file: its element type, shape (row-major,
 * PyTorch order) and elements.
 *
 * The array type follows `dtype`: `F32`/`F16`/`BF16` → `Float32Array`,
 * `F64` → `Float64Array`, `I64` → `BigInt64Array`, `I32` → `Int32Array`,
 * `U8`/`BOOL` → `Uint8Array`. Its length is the product of `shape`
 * (1 for a scalar, shape `[]`).
 *
 * @example
 * ```ts
 * import type { SafeTensor } from "./types.ts";
 * const labels: SafeTensor = { dtype: "I64", shape: [3], data: BigInt64Array.of(1n, 0n, 2n) };
 * console.log(labels.data.length); // 3
 * ```
 */
export interface SafeTensor {
  /** Element type as written in the file. */
  dtype: SafetensorsDType;
  /** Dimensions, outermost first; `[]` for a scalar. */
  shape: number[];
  /** The elements, row-major, in the array type that `dtype` maps to. */
  data: SafeTensorData;
}

/**
 * The contents of a safetensors file: tensors by name (in header order) and
 * the `__metadata__` strings (empty when the file has none).
 *
 * @example
 * ```ts
 * import { decodeSafetensors } from "./decode.ts";
 * import { encodeSafetensors } from "./encode.ts";
 * import type { SafetensorsFile } from "./types.ts";
 * const file: SafetensorsFile = decodeSafetensors(encodeSafetensors({}));
 * console.log(file.tensors.size, Object.keys(file.metadata).length); // 0 0
 * ```
 */
export interface SafetensorsFile {
  /** Tensors by name, in the order the header lists them. */
  tensors: Map<string, SafeTensor>;
  /** The header's `__metadata__` entries. */
  metadata: Record<string, string>;
}

/**
 * The error thrown for a malformed safetensors file or an invalid tensor to
 * write. Its message is one sentence naming the source and the tensor.
 *
 * @example
 * ```ts
 * import { decodeSafetensors } from "./decode.ts";
 * import { SafetensorsError } from "./types.ts";
 * try {
 *   decodeSafetensors(new Uint8Array(3), { source: "model.safetensors" });
 * } catch (e) {
 *   console.log(e instanceof SafetensorsError, (e as Error).message);
 * }
 * ```
 */
export class SafetensorsError extends Error {
  /**
   * Creates the error; the name is set to `SafetensorsError` so that logs say
   * which format failed to decode.
   *
   * @param message the full one-sentence message
   */
  constructor(message: string) {
    super(message);
    this.name = "SafetensorsError";
  }
}
