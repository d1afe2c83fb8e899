/**
 * Encoding tensors to safetensors bytes in memory (what a web page offers for
 * download; `writeSafetensors` streams the same bytes to a file).
 *
 * @module
 */
import { encodeData, plan } from "./_layout.ts";
import type { SafeTensor } from "./types.ts";

/** Options of {@link encodeSafetensors} and `writeSafetensors`. */
export interface EncodeSafetensorsOptions {
  /** Strings stored under the header's `__metadata__` key (omitted when empty). */
  metadata?: Record<string, string>;
}

/**
 * Serializes tensors (and optional `__metadata__` strings) to safetensors
 * bytes. The header is space-padded so the data starts 8-byte aligned;
 * tensors are laid out largest element size first, then by name.
 *
 * Each tensor's `data` must be the array type its `dtype` maps to (see
 * {@link SafeTensor}) with as many elements as its shape; otherwise this
 * throws a {@link SafetensorsError} naming the tensor.
 *
 * @param tensors the tensors by name
 * @param options the `__metadata__` strings
 * @returns the file's bytes
 * @throws {SafetensorsError} when a tensor or a metadata value is invalid
 *
 * @example
 * ```ts
 * import { encodeSafetensors } from "./encode.ts";
 * const bytes = encodeSafetensors(
 *   new Map([["w", { dtype: "F32", shape: [2], data: new Float32Array([0.5, -1]) }]]),
 *   { metadata: { format: "pt" } },
 * );
 * console.log(bytes.length % 8); // 0
 * ```
 */
export function encodeSafetensors(
  tensors: Record<string, SafeTensor> | Map<string, SafeTensor>,
  options: EncodeSafetensorsOptions = {},
): Uint8Array {
  const p = plan(tensors, options.metadata, "safetensors data");
  const out = new Uint8Array(p.header.length + p.dataLength);
  out.set(p.header, 0);
  for (const t of p.tensors) out.set(encodeData(t.tensor), p.header.length + t.begin);
  return out;
}
