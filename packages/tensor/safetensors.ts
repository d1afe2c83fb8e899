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
 * import type { SafetensorsDType } from "./safetensors.ts";
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
 * import type { SafeTensor } from "./safetensors.ts";
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
 * import { decodeSafetensors, encodeSafetensors, type SafetensorsFile } from "./safetensors.ts";
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

/** Options of {@link decodeSafetensors}. */
export interface DecodeSafetensorsOptions {
  /** What the bytes are (usually a file path), named in error messages. Default `"safetensors data"`. */
  source?: string;
}

/** Options of {@link encodeSafetensors} and {@link writeSafetensors}. */
export interface EncodeSafetensorsOptions {
  /** Strings stored under the header's `__metadata__` key (omitted when empty). */
  metadata?: Record<string, string>;
}

/** Options of {@link toInt32}. */
export interface ToInt32Options {
  /** The tensor's name, used in the range error. */
  name?: string;
}

/**
 * The error thrown for a malformed safetensors file or an invalid tensor to
 * write. Its message is one sentence naming the source and the tensor.
 *
 * @example
 * ```ts
 * import { decodeSafetensors, SafetensorsError } from "./safetensors.ts";
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

interface DTypeInfo {
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

const DTYPES: Record<SafetensorsDType, DTypeInfo> = {
  F64: { bytes: 8, array: Float64Array },
  F32: { bytes: 4, array: Float32Array },
  F16: { bytes: 2, array: Float32Array },
  BF16: { bytes: 2, array: Float32Array },
  I64: { bytes: 8, array: BigInt64Array },
  I32: { bytes: 4, array: Int32Array },
  U8: { bytes: 1, array: Uint8Array },
  BOOL: { bytes: 1, array: Uint8Array },
};

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function isDType(value: unknown): value is SafetensorsDType {
  return typeof value === "string" && Object.hasOwn(DTYPES, value);
}

function showShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** Elements of `shape`, or an error message when it is not a list of non-negative integers. */
function elementCount(shape: unknown): number | string {
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

// ---------------------------------------------------------------------------
// Half-precision conversions

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function floatToHalf(x: number): number {
  f32Scratch[0] = x;
  const bits = u32Scratch[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let frac = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (frac ? 0x200 : 0); // inf / NaN
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00; // overflow → inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow → ±0
    frac |= 0x800000; // implicit leading 1
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = frac >>> shift;
    const rest = frac & ((1 << shift) - 1);
    if (rest > half || (rest === half && (m & 1))) m++;
    return sign | m; // a carry into bit 10 correctly yields the smallest normal
  }
  const m = frac >>> 13;
  const rest = frac & 0x1fff;
  const out = sign | (e << 10) | m;
  // Round to nearest even; a carry out of the mantissa correctly bumps the exponent (up to inf).
  return rest > 0x1000 || (rest === 0x1000 && (m & 1)) ? out + 1 : out;
}

function bf16ToFloat(h: number): number {
  u32Scratch[0] = h << 16;
  return f32Scratch[0];
}

function floatToBf16(x: number): number {
  f32Scratch[0] = x;
  const bits = u32Scratch[0];
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff)) return (bits >>> 16) | 0x40; // quiet NaN
  const rounded = bits + 0x7fff + ((bits >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

// ---------------------------------------------------------------------------
// Decoding

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
 * @example
 * ```ts
 * import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
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

// ---------------------------------------------------------------------------
// Encoding

interface Planned {
  name: string;
  tensor: SafeTensor;
  begin: number;
  end: number;
}

interface Plan {
  header: Uint8Array;
  tensors: Planned[];
  dataLength: number;
}

function expectedArrayName(dtype: SafetensorsDType): string {
  return DTYPES[dtype].array.name;
}

/** Validates the tensors and lays them out; throws {@link SafetensorsError} naming the tensor. */
function plan(
  input: Record<string, SafeTensor> | Map<string, SafeTensor>,
  metadata: Record<string, string> | undefined,
  target: string,
): Plan {
  const fail = (what: string): never => {
    throw new SafetensorsError(`Cannot write ${target}: ${what}`);
  };
  if (!LITTLE_ENDIAN) fail("this machine is big-endian, which is not supported");
  const entries = input instanceof Map ? [...input] : Object.entries(input);
  for (const [name, t] of entries) {
    const where = `tensor "${name}"`;
    if (name === "" || name === "__metadata__") fail(`a tensor cannot be named "${name}"`);
    if (typeof t !== "object" || t === null) fail(`${where} is not a tensor`);
    if (!isDType(t.dtype)) {
      fail(`${where} has dtype ${JSON.stringify(t.dtype)}, which is not supported`);
    }
    const count = elementCount(t.shape);
    if (typeof count === "string") fail(`${where} ${count}`);
    if (!(t.data instanceof DTYPES[t.dtype].array)) {
      fail(
        `${where} has dtype ${t.dtype}, which needs a ${expectedArrayName(t.dtype)}, ` +
          `but its data is ${t.data?.constructor?.name ?? typeof t.data}`,
      );
    }
    if (t.data.length !== count) {
      fail(
        `${where} has shape ${showShape(t.shape)} (${plural(count as number, "element")}) ` +
          `but ${plural(t.data.length, "element")} of data`,
      );
    }
  }
  for (const [key, value] of Object.entries(metadata ?? {})) {
    if (typeof value !== "string") {
      fail(`__metadata__ entry "${key}" is ${typeof value}, not a string`);
    }
  }
  // Largest elements first keeps every tensor aligned to its element size; then by name.
  entries.sort(([an, a], [bn, b]) =>
    DTYPES[b.dtype].bytes - DTYPES[a.dtype].bytes || (an < bn ? -1 : an > bn ? 1 : 0)
  );
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = { ...metadata };
  const planned: Planned[] = [];
  let offset = 0;
  for (const [name, tensor] of entries) {
    const end = offset + tensor.data.length * DTYPES[tensor.dtype].bytes;
    header[name] = { dtype: tensor.dtype, shape: [...tensor.shape], data_offsets: [offset, end] };
    planned.push({ name, tensor, begin: offset, end });
    offset = end;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil((8 + json.length) / 8) * 8 - 8;
  const head = new Uint8Array(8 + padded).fill(0x20, 8 + json.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(padded), true);
  head.set(json, 8);
  return { header: head, tensors: planned, dataLength: offset };
}

/** The file bytes of one tensor's data (a view of its array when no conversion is needed). */
function encodeData(t: SafeTensor): Uint8Array {
  if (t.dtype === "F16" || t.dtype === "BF16") {
    const src = t.data as Float32Array;
    const out = new Uint8Array(src.length * 2);
    const view = new DataView(out.buffer);
    const convert = t.dtype === "F16" ? floatToHalf : floatToBf16;
    for (let i = 0; i < src.length; i++) view.setUint16(2 * i, convert(src[i]), true);
    return out;
  }
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
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
 * @example
 * ```ts
 * import { encodeSafetensors } from "./safetensors.ts";
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

// ---------------------------------------------------------------------------
// Files

// Only the two functions below touch files. They reach Deno through
// `globalThis`, and convert file: URLs without node:url, so that a web page
// can import this module (and decode fetched bytes) without either.

/** Deno's file-system API, or a one-sentence error naming `action` where there is none (a web page). */
function denoFs(action: string): typeof Deno {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (!deno) {
    throw new Error(
      `Cannot ${action}: file access needs Deno, which this runtime lacks; in a browser, fetch the bytes and use decodeSafetensors (or encodeSafetensors to produce them).`,
    );
  }
  return deno;
}

/** The path of a file: URL (what node:url's fileURLToPath gives, for POSIX and Windows paths). */
function toPath(path: string | URL): string {
  if (!(path instanceof URL)) return path;
  if (path.protocol !== "file:") {
    throw new TypeError(
      `Cannot use ${path.href} as a safetensors file: only file: URLs name files; pass a path or a file: URL.`,
    );
  }
  const pathname = decodeURIComponent(path.pathname);
  if (/^\/[A-Za-z]:\//.test(pathname)) return pathname.slice(1); // file:///C:/x → C:/x
  return path.hostname && path.hostname !== "localhost"
    ? `//${path.hostname}${pathname}`
    : pathname;
}

/**
 * Reads and decodes a safetensors file (see {@link decodeSafetensors}); errors
 * about the contents name the file path.
 *
 * @example
 * ```ts
 * import { readSafetensors, writeSafetensors } from "./safetensors.ts";
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
 * @example
 * ```ts
 * import { readSafetensors, writeSafetensors } from "./safetensors.ts";
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
  const random = Array.from(
    crypto.getRandomValues(new Uint8Array(4)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
  const temp = `${target}.tmp-${deno.pid}-${random}`;
  const file = await deno.open(temp, { write: true, createNew: true });
  let closed = false;
  try {
    await writeAll(file, p.header);
    for (const t of p.tensors) await writeAll(file, encodeData(t.tensor));
    await file.sync();
    file.close();
    closed = true;
    await deno.rename(temp, target);
  } catch (e) {
    if (!closed) {
      try {
        file.close();
      } catch { /* already closed */ }
    }
    await deno.remove(temp).catch(() => {});
    throw e;
  }
  await syncDirectory(deno, target);
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await file.write(bytes.subarray(done));
}

/** Best effort: fsync the directory so the rename itself survives a crash (not possible on Windows). */
async function syncDirectory(deno: typeof Deno, path: string): Promise<void> {
  if (deno.build.os === "windows") return;
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
  try {
    const handle = await deno.open(dir, { read: true });
    try {
      await handle.sync();
    } finally {
      handle.close();
    }
  } catch {
    // Some file systems refuse to sync a directory; the data itself is already synced.
  }
}

// ---------------------------------------------------------------------------
// Conversions

/**
 * The tensor's elements as a `Float32Array`. For `F32`, `F16` and `BF16`
 * tensors this is `t.data` itself (no copy); other dtypes are converted
 * (`F64` rounds to float32, integers and booleans become their values).
 *
 * @example
 * ```ts
 * import { toFloat32 } from "./safetensors.ts";
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
 * @example
 * ```ts
 * import { toInt32 } from "./safetensors.ts";
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
