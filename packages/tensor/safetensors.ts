/**
 * Reading and writing the [safetensors](https://huggingface.co/docs/safetensors)
 * format, the checkpoint format PyTorch, JAX and Hugging Face tools share.
 *
 * A file is an 8-byte little-endian u64 header length `N`, then `N` bytes of
 * JSON header `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__":
 * {string: string}}` with offsets relative to the start of the data section,
 * then the raw little-endian tensor data.
 *
 * Reading is strict: every problem is one sentence naming the file and the
 * tensor. Writing pads the header with spaces so the data starts 8-byte
 * aligned, orders tensors by element size (largest first, so every tensor
 * stays aligned) and then by name, and is atomic (temp file, fsync, rename).
 *
 * The parts live in `safetensors/`: the types (`types.ts`), bytes to tensors
 * (`decode.ts`), tensors to bytes (`encode.ts`), files (`file.ts`, Deno only
 * when called, so a web page may import this module) and conversions of the
 * elements (`convert.ts`).
 *
 * @example
 * ```ts
 * import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
 * const bytes = encodeSafetensors({
 *   "fc.weight": { dtype: "F32", shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
 * }, { metadata: { epoch: "3" } });
 * const { tensors, metadata } = decodeSafetensors(bytes);
 * console.log(tensors.get("fc.weight")!.shape, metadata.epoch); // [2, 3] "3"
 * ```
 *
 * @module
 */
export {
  type SafeTensor,
  type SafeTensorData,
  type SafetensorsDType,
  SafetensorsError,
  type SafetensorsFile,
} from "./safetensors/types.ts";
export { decodeSafetensors, type DecodeSafetensorsOptions } from "./safetensors/decode.ts";
export { encodeSafetensors, type EncodeSafetensorsOptions } from "./safetensors/encode.ts";
export { readSafetensors, writeSafetensors } from "./safetensors/file.ts";
export { toFloat32, toInt32, type ToInt32Options } from "./safetensors/convert.ts";
