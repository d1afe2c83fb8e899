// Gzip helpers (private).

import { denoFs } from "./_deno.ts";

/** True when the bytes start with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Decompresses gzip bytes with the web DecompressionStream; `name` is used in the error. */
export async function gunzip(bytes: Uint8Array, name: string): Promise<Uint8Array> {
  try {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
      new DecompressionStream("gzip"),
    );
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new Error(
      `Cannot read ${name}: gzip data is corrupt or truncated (${
        (e as Error).message
      }); delete the file and download it again.`,
    );
  }
}

/** Reads a file, decompressing it when it is gzipped. */
export async function readMaybeGzip(path: string): Promise<Uint8Array> {
  const deno = denoFs(`read ${path}`, "fetch the bytes and use parseIdx");
  const bytes = await deno.readFile(path);
  return isGzip(bytes) ? await gunzip(bytes, path) : bytes;
}
