/**
 * What decoding and encoding share: each dtype's size and typed array, the
 * byte-order check, and the shape check with the pieces of its messages.
 *
 * @module
 */
import type { SafetensorsDType } from "./types.ts";

/** How one dtype is stored in the file and held in memory. */
export interface DTypeInfo {
  /** Bytes per element in the file. */
  bytes: number;
  /** Which typed array holds the elements in memory. */
  array:
    | typeof Float32Array
    | typeof Float64Array
    | typeof Int32Array
    | typeof BigInt64Array
    | typeof Uint8Array;
}

/** Every supported dtype's size and array (F16 and BF16 are widened to float32 in memory). */
export const DTYPES: Record<SafetensorsDType, DTypeInfo> = {
  F64: { bytes: 8, array: Float64Array },
  F32: { bytes: 4, array: Float32Array },
  F16: { bytes: 2, array: Float32Array },
  BF16: { bytes: 2, array: Float32Array },
  I64: { bytes: 8, array: BigInt64Array },
  I32: { bytes: 4, array: Int32Array },
  U8: { bytes: 1, array: Uint8Array },
  BOOL: { bytes: 1, array: Uint8Array },
};

/**
 * Whether this machine stores numbers little-endian, as the file does: typed
 * arrays are copied byte for byte, so a big-endian machine is refused.
 */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Whether `value` is a dtype this module reads and writes.
 *
 * @param value a header's or a tensor's `dtype`
 * @returns true for a key of {@link DTYPES}
 */
export function isDType(value: unknown): value is SafetensorsDType {
  return typeof value === "string" && Object.hasOwn(DTYPES, value);
}

/**
 * A shape as the error messages show it.
 *
 * @param shape the dimensions
 * @returns `[2, 3]`
 */
export function showShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/**
 * A count with its noun, plural when it is not 1.
 *
 * @param n the count
 * @param word the singular noun
 * @returns `1 byte`, `3 bytes`
 */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/**
 * Elements of `shape`, or an error message when it is not a list of non-negative integers.
 *
 * @param shape a header's or a tensor's `shape`, unchecked
 * @returns the product of the sizes, or the end of a sentence saying what is wrong
 */
export function elementCount(shape: unknown): number | string {
  if (!Array.isArray(shape)) return `has shape ${JSON.stringify(shape)}, not a list of sizes`;
  let n = 1;
  for (const d of shape) {
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) {
      return `has shape ${JSON.stringify(shape)} with a size that is not a non-negative integer`;
    }
    n *= d;
  }
  if (!Number.isSafeInteger(n)) return `has shape ${showShape(shape)} with too many elements`;
  return n;
}
