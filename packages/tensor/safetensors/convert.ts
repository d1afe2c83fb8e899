/**
 * Converting a decoded tensor's elements to the array types the models use:
 * float32 for parameters and images, int32 for labels.
 *
 * @module
 */
import type { SafeTensor } from "./types.ts";

/** Options of {@link toInt32}. */
export interface ToInt32Options {
  /** The tensor's name, used in the range error. */
  name?: string;
}

/**
 * The tensor's elements as a `Float32Array`. For `F32`, `F16` and `BF16`
 * tensors this is `t.data` itself (no copy); other dtypes are converted
 * (`F64` rounds to float32, integers and booleans become their values).
 *
 * @param t a decoded tensor
 * @returns its elements as float32
 *
 * @example
 * ```ts
 * import { toFloat32 } from "./convert.ts";
 * console.log(toFloat32({ dtype: "I64", shape: [2], data: BigInt64Array.of(3n, -1n) })); // Float32Array(2) [ 3, -1 ]
 * ```
 */
export function toFloat32(t: SafeTensor): Float32Array {
  const data = t.data;
  if (data instanceof Float32Array) return data;
  const out = new Float32Array(data.length);
  if (data instanceof BigInt64Array) {
    for (let i = 0; i < data.length; i++) out[i] = Number(data[i]);
  } else {
    out.set(data);
  }
  return out;
}

/**
 * The tensor's elements as an `Int32Array`. `I32` returns `t.data` itself;
 * `I64`, `U8` and `BOOL` are converted, and an `I64` value outside the int32
 * range is an error naming the value, its index and (when given) the tensor.
 * Floating-point tensors are an error.
 *
 * @param t a decoded tensor
 * @param options the tensor's name, for the errors
 * @returns its elements as int32
 * @throws {RangeError} when an `I64` value does not fit int32
 * @throws {TypeError} when the tensor is floating-point
 *
 * @example
 * ```ts
 * import { toInt32 } from "./convert.ts";
 * const labels = toInt32({ dtype: "I64", shape: [3], data: BigInt64Array.of(1n, 0n, 9n) }, { name: "y" });
 * console.log(labels); // Int32Array(3) [ 1, 0, 9 ]
 * ```
 */
export function toInt32(t: SafeTensor, options: ToInt32Options = {}): Int32Array {
  const what = options.name === undefined ? `an ${t.dtype} tensor` : `tensor "${options.name}"`;
  const data = t.data;
  if (data instanceof Int32Array) return data;
  if (data instanceof BigInt64Array) {
    const out = new Int32Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v < -2147483648n || v > 2147483647n) {
        throw new RangeError(
          `Cannot convert ${what} to int32: element ${i} is ${v}, outside the int32 range`,
        );
      }
      out[i] = Number(v);
    }
    return out;
  }
  if (data instanceof Uint8Array) return Int32Array.from(data);
  throw new TypeError(
    `Cannot convert ${what} to int32: its dtype ${t.dtype} is not an integer type`,
  );
}
