/**
 * Reader for the IDX format of MNIST and Fashion-MNIST (optionally gzipped).
 *
 * @module
 */

import { readMaybeGzip } from "./_gzip.ts";

/** An unsigned-byte IDX array. */
export interface IdxArray {
  /** Dimensions from the header, e.g. `[60000, 28, 28]`. */
  dims: number[];
  /** The values, row-major. */
  data: Uint8Array;
}

/** Options for {@linkcode parseIdx} and {@linkcode readIdx}. */
export interface IdxOptions {
  /** Name used in error messages (default "IDX data"; {@linkcode readIdx} passes the path). */
  name?: string;
  /** Expected content: "images" (magic 0x00000803) or "labels" (0x00000801); any ubyte IDX if omitted. */
  expect?: "images" | "labels";
}

const MAGIC = { images: 0x00000803, labels: 0x00000801 } as const;

function hex(n: number): string {
  return "0x" + (n >>> 0).toString(16).padStart(8, "0");
}

/**
 * Parses IDX bytes (magic `0x000008NN`: unsigned bytes, NN dimensions).
 *
 * @param bytes The uncompressed file contents.
 * @param options Name for errors and the expected kind.
 * @returns The dimensions and a view of the data.
 */
export function parseIdx(bytes: Uint8Array, options: IdxOptions = {}): IdxArray {
  const name = options.name ?? "IDX data";
  if (bytes.length < 4) {
    throw new Error(
      `Cannot read ${name}: file has ${bytes.length} bytes, too short for an IDX header; delete it and download it again.`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  const expected = options.expect ? MAGIC[options.expect] : undefined;
  if (
    (expected !== undefined && magic !== expected) ||
    (expected === undefined && (magic >>> 8 !== 0x08 || (magic & 0xff) === 0))
  ) {
    const want = expected !== undefined
      ? `${hex(expected)} (${options.expect})`
      : "0x000008NN (unsigned bytes)";
    throw new Error(
      `Cannot read ${name}: IDX magic is ${
        hex(magic)
      }, expected ${want}; check that the file is the right one and not corrupt.`,
    );
  }
  const ndim = magic & 0xff;
  if (bytes.length < 4 + 4 * ndim) {
    throw new Error(
      `Cannot read ${name}: IDX header is truncated (${bytes.length} bytes for ${ndim} dimensions); delete it and download it again.`,
    );
  }
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(view.getUint32(4 + 4 * i));
  const count = dims.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * ndim;
  if (bytes.length - start < count) {
    throw new Error(
      `Cannot read ${name}: IDX data is truncated, header declares ${
        dims.join("×")
      } = ${count} bytes but ${bytes.length - start} follow; delete it and download it again.`,
    );
  }
  return { dims, data: bytes.subarray(start, start + count) };
}

/**
 * Reads an IDX file, gunzipping it when it starts with the gzip magic.
 *
 * @param path The file path (`.gz` or raw).
 * @param options The expected kind.
 * @returns The dimensions and data.
 */
export async function readIdx(path: string, options: IdxOptions = {}): Promise<IdxArray> {
  return parseIdx(await readMaybeGzip(path), { ...options, name: options.name ?? path });
}
