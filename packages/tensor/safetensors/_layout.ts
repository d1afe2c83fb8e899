/**
 * The layout of a file to write, shared by `encodeSafetensors` (bytes in
 * memory) and `writeSafetensors` (streamed to a file): the tensors'
 * checks, their order and offsets, the padded header, and each tensor's bytes.
 *
 * @module
 */
import { DTYPES, elementCount, isDType, LITTLE_ENDIAN, plural, showShape } from "./_format.ts";
import { floatToBf16, floatToHalf } from "./_half.ts";
import { type SafeTensor, type SafetensorsDType, SafetensorsError } from "./types.ts";

/** One tensor and where its bytes go in the data section. */
export interface Planned {
  /** The tensor's name in the header. */
  name: string;
  /** The tensor. */
  tensor: SafeTensor;
  /** Offset of its first byte in the data section. */
  begin: number;
  /** Offset one past its last byte in the data section. */
  end: number;
}

/** A checked file to write: header bytes, then the tensors in order. */
export interface Plan {
  /** The 8-byte length and the space-padded JSON header. */
  header: Uint8Array;
  /** The tensors in file order. */
  tensors: Planned[];
  /** Bytes of the data section. */
  dataLength: number;
}

function expectedArrayName(dtype: SafetensorsDType): string {
  return DTYPES[dtype].array.name;
}

/**
 * Validates the tensors and lays them out; throws {@link SafetensorsError} naming the tensor.
 *
 * @param input the tensors by name
 * @param metadata the `__metadata__` strings, if any
 * @param target what is written (a path), named in error messages
 * @returns the header bytes and every tensor's offsets
 */
export function plan(
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
  // Space padding (which JSON ignores) makes the data section start 8-byte aligned.
  const padded = Math.ceil((8 + json.length) / 8) * 8 - 8;
  const head = new Uint8Array(8 + padded).fill(0x20, 8 + json.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(padded), true);
  head.set(json, 8);
  return { header: head, tensors: planned, dataLength: offset };
}

/**
 * The file bytes of one tensor's data (a view of its array when no conversion is needed).
 *
 * @param t a tensor that {@link plan} accepted
 * @returns its little-endian bytes
 */
export function encodeData(t: SafeTensor): Uint8Array {
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
