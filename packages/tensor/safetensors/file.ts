/**
 * Reading and writing safetensors files (Deno only; a web page decodes
 * fetched bytes with `decodeSafetensors` instead). Importing this module is
 * safe anywhere: Deno is looked up only when a function is called.
 *
 * @module
 */
import { denoFs, toPath, writeFileAtomic } from "./_fs.ts";
import { encodeData, plan } from "./_layout.ts";
import { decodeSafetensors } from "./decode.ts";
import type { EncodeSafetensorsOptions } from "./encode.ts";
import type { SafeTensor, SafetensorsFile } from "./types.ts";

/**
 * Reads and decodes a safetensors file (see {@link decodeSafetensors}); errors
 * about the contents name the file path.
 *
 * @param path the file, as a path or a file: URL
 * @returns the tensors in header order and the `__metadata__` strings
 * @throws {SafetensorsError} when the file is not a valid safetensors file
 *
 * @example
 * ```ts
 * import { readSafetensors, writeSafetensors } from "./file.ts";
 * const dir = await Deno.makeTempDir();
 * await writeSafetensors(`${dir}/a.safetensors`, {
 *   bias: { dtype: "F64", shape: [1], data: Float64Array.of(0.25) },
 * });
 * const { tensors } = await readSafetensors(`${dir}/a.safetensors`);
 * console.log(tensors.get("bias")!.data[0]); // 0.25
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readSafetensors(path: string | URL): Promise<SafetensorsFile> {
  const file = toPath(path);
  const deno = denoFs(`read ${file}`);
  return decodeSafetensors(await deno.readFile(file), { source: file });
}

/**
 * Writes tensors to a safetensors file atomically: the bytes go to a temp file
 * `<path>.tmp-<pid>-<random>` in the same directory, which is fsynced and then
 * renamed over `path`. A crash or error therefore leaves either the old file
 * or the complete new one, never a partial file; on error the temp file is
 * removed and the error rethrown. Tensor data is streamed from the arrays, so
 * no second copy of the checkpoint is built in memory.
 *
 * @param path the file, as a path or a file: URL
 * @param tensors the tensors by name
 * @param options the `__metadata__` strings
 * @throws {SafetensorsError} when a tensor or a metadata value is invalid
 *
 * @example
 * ```ts
 * import { readSafetensors, writeSafetensors } from "./file.ts";
 * const dir = await Deno.makeTempDir();
 * const path = `${dir}/model.safetensors`;
 * await writeSafetensors(path, {
 *   "fc.weight": { dtype: "F32", shape: [1, 2], data: new Float32Array([1, 2]) },
 *   "steps": { dtype: "I64", shape: [], data: BigInt64Array.of(10n) },
 * }, { metadata: { epoch: "1" } });
 * console.log((await readSafetensors(path)).metadata); // { epoch: "1" }
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeSafetensors(
  path: string | URL,
  tensors: Record<string, SafeTensor> | Map<string, SafeTensor>,
  options: EncodeSafetensorsOptions = {},
): Promise<void> {
  const target = toPath(path);
  const deno = denoFs(`write ${target}`);
  const p = plan(tensors, options.metadata, target);
  // A generator, so each tensor's bytes (an F16/BF16 conversion) exist only while being written.
  function* chunks(): Generator<Uint8Array> {
    yield p.header;
    for (const t of p.tensors) yield encodeData(t.tensor);
  }
  await writeFileAtomic(deno, target, chunks());
}
