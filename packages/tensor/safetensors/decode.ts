/**
 * Decoding safetensors bytes: the strict header check and the copy of every
 * tensor's data into a fresh typed array.
 *
 * @module
 */
import { DTYPES, elementCount, isDType, LITTLE_ENDIAN, plural, showShape } from "./_format.ts";
import { bf16ToFloat, halfToFloat } from "./_half.ts";
import {
  type SafeTensor,
  type SafeTensorData,
  type SafetensorsDType,
  SafetensorsError,
  type SafetensorsFile,
} from "./types.ts";

/** Options of {@link decodeSafetensors}. */
export interface DecodeSafetensorsOptions {
  /** What the bytes are (usually a file path), named in error messages. Default `"safetensors data"`. */
  source?: string;
}

/**
 * Parses safetensors bytes. Every tensor's data is copied into a fresh,
 * aligned typed array (the input may sit at any offset and is not kept).
 *
 * Checks, each failing with one sentence that names `options.source` and the
 * tensor: the header length fits the file; the header is a JSON object; every
 * entry has a known dtype, a valid shape and `data_offsets` inside the data
 * section whose span equals shape × dtype size; no two tensors overlap; and
 * `__metadata__` maps strings to strings.
 *
 * @param bytes the whole file
 * @param options what the bytes are, for the error messages
 * @returns the tensors in header order and the `__metadata__` strings
 * @throws {SafetensorsError} when the bytes are not a valid safetensors file
 *
 * @example
 * ```ts
 * import { decodeSafetensors } from "./decode.ts";
 * import { encodeSafetensors } from "./encode.ts";
 * const bytes = encodeSafetensors({ y: { dtype: "I64", shape: [2], data: BigInt64Array.of(7n, 3n) } });
 * console.log(decodeSafetensors(bytes).tensors.get("y")!.data); // BigInt64Array(2) [ 7n, 3n ]
 * try {
 *   decodeSafetensors(bytes.subarray(0, bytes.length - 1), { source: "labels.safetensors" });
 * } catch (e) {
 *   console.log((e as Error).message); // Cannot read labels.safetensors: tensor "y" has data_offsets [0, 16] past the end of the 15-byte data section
 * }
 * ```
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  options: DecodeSafetensorsOptions = {},
): SafetensorsFile {
  const source = options.source ?? "safetensors data";
  const fail = (what: string): never => {
    throw new SafetensorsError(`Cannot read ${source}: ${what}`);
  };
  if (!LITTLE_ENDIAN) fail("this machine is big-endian, which is not supported");
  if (bytes.length < 8) {
    fail(`it is ${plural(bytes.length, "byte")} long, too short for the 8-byte header length`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(bytes.length - 8)) {
    fail(
      `the header length is ${headerLength} bytes but only ${bytes.length - 8} bytes follow it ` +
        `(truncated file or not a safetensors file)`,
    );
  }
  const n = Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    fail(`the ${n}-byte header is not valid UTF-8 JSON (${e instanceof Error ? e.message : e})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    fail("the header is not a JSON object");
  }
  const data = bytes.subarray(8 + n);
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, SafeTensor>();
  const spans: { name: string; begin: number; end: number }[] = [];

  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
        fail("__metadata__ is not a JSON object of strings");
      }
      for (const [key, value] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof value !== "string") {
          fail(`__metadata__ entry "${key}" is ${JSON.stringify(value)}, not a string`);
        }
        metadata[key] = value as string;
      }
      continue;
    }
    const where = `tensor "${name}"`;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      fail(`${where} has a header entry that is not a JSON object`);
    }
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (!isDType(dtype)) {
      fail(
        `${where} has dtype ${JSON.stringify(dtype)}, which is not supported ` +
          `(supported: ${Object.keys(DTYPES).join(", ")})`,
      );
    }
    const info = DTYPES[dtype as SafetensorsDType];
    const count = elementCount(shape);
    if (typeof count === "string") fail(`${where} ${count}`);
    if (
      !Array.isArray(offsets) || offsets.length !== 2 ||
      !offsets.every((o) => typeof o === "number" && Number.isSafeInteger(o) && o >= 0)
    ) {
      fail(`${where} has data_offsets ${JSON.stringify(offsets)}, not two non-negative integers`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) {
      fail(`${where} has data_offsets [${begin}, ${end}] that end before they begin`);
    }
    if (end > data.length) {
      fail(
        `${where} has data_offsets [${begin}, ${end}] past the end of the ` +
          `${data.length}-byte data section`,
      );
    }
    const expected = (count as number) * info.bytes;
    if (end - begin !== expected) {
      fail(
        `${where} has shape ${showShape(shape as number[])} (${expected} bytes) ` +
          `but data_offsets span ${end - begin} bytes`,
      );
    }
    if (end > begin) spans.push({ name, begin, end });
    tensors.set(name, {
      dtype: dtype as SafetensorsDType,
      shape: [...(shape as number[])],
      data: decodeData(dtype as SafetensorsDType, data.subarray(begin, end), count as number),
    });
  }

  spans.sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < spans.length; i++) {
    const a = spans[i - 1], b = spans[i];
    if (b.begin < a.end) {
      fail(
        `tensor "${b.name}" (data_offsets [${b.begin}, ${b.end}]) overlaps ` +
          `tensor "${a.name}" (data_offsets [${a.begin}, ${a.end}])`,
      );
    }
  }
  return { tensors, metadata };
}

/** One tensor's elements from its file bytes (F16/BF16 widened to float32). */
function decodeData(dtype: SafetensorsDType, raw: Uint8Array, count: number): SafeTensorData {
  if (dtype === "F16" || dtype === "BF16") {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const out = new Float32Array(count);
    const convert = dtype === "F16" ? halfToFloat : bf16ToFloat;
    for (let i = 0; i < count; i++) out[i] = convert(view.getUint16(2 * i, true));
    return out;
  }
  const out = new DTYPES[dtype].array(count);
  new Uint8Array(out.buffer).set(raw); // copy: aligned, and independent of the input
  return out;
}
