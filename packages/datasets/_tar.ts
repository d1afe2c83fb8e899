// Minimal ustar/GNU/pax tar reader (private).
//
// Why not an npm tar reader: `tar-stream` loads in Deno but only streams
// entries in order; the loader needs random access to WebDataset samples by
// byte offset (for shuffling and DistributedSampler-style sharding without
// holding shards in memory), which is an index of (name, offset, size) built
// by reading 512-byte headers and seeking over the data. That plus a
// sequential reader for extracting the CIFAR archives is ~150 lines.

/** One regular file in a tar archive. */
export interface TarEntry {
  /** Path inside the archive. */
  name: string;
  /** Byte offset of the data in the (uncompressed) archive. */
  offset: number;
  /** Data size in bytes. */
  size: number;
}

const decoder = new TextDecoder();

function str(b: Uint8Array, start: number, len: number): string {
  let end = start;
  while (end < start + len && b[end] !== 0) end++;
  return decoder.decode(b.subarray(start, end));
}

function octal(b: Uint8Array, start: number, len: number, where: string): number {
  if (b[start] & 0x80) {
    // GNU base-256 size.
    let v = 0;
    for (let i = start + 1; i < start + len; i++) v = v * 256 + b[i];
    return v;
  }
  const s = str(b, start, len).trim();
  const v = s === "" ? 0 : parseInt(s, 8);
  if (!Number.isFinite(v)) {
    throw new Error(
      `Cannot read ${where}: tar header has a bad number "${s}"; the archive is corrupt.`,
    );
  }
  return v;
}

interface Header {
  name: string;
  size: number;
  type: string;
}

function parseHeader(b: Uint8Array, where: string): Header | null {
  let zero = true;
  for (let i = 0; i < 512; i++) {
    if (b[i] !== 0) {
      zero = false;
      break;
    }
  }
  if (zero) return null;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : b[i];
  if (sum !== octal(b, 148, 8, where)) {
    throw new Error(
      `Cannot read ${where}: tar header checksum mismatch; the archive is corrupt or not a tar file.`,
    );
  }
  let name = str(b, 0, 100);
  const magic = str(b, 257, 6);
  if (magic.startsWith("ustar")) {
    const prefix = str(b, 345, 155);
    if (prefix) name = `${prefix}/${name}`;
  }
  return { name, size: octal(b, 124, 12, where), type: String.fromCharCode(b[156] || 48) };
}

function paxPath(data: Uint8Array): string | undefined {
  const text = decoder.decode(data);
  for (const line of text.split("\n")) {
    const m = /^\d+ path=(.*)$/.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

/** Reads exactly n bytes from a byte stream reader, buffering leftovers. */
class StreamReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buf: Uint8Array = new Uint8Array(0);
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }
  async read(n: number): Promise<Uint8Array | null> {
    const chunks: Uint8Array[] = [];
    let have = 0;
    while (have < n) {
      if (this.#buf.length === 0) {
        const r = await this.#reader.read();
        if (r.done) return null;
        this.#buf = r.value;
        continue;
      }
      const take = Math.min(n - have, this.#buf.length);
      chunks.push(this.#buf.subarray(0, take));
      this.#buf = this.#buf.subarray(take);
      have += take;
    }
    if (chunks.length === 1) return chunks[0];
    const out = new Uint8Array(n);
    let o = 0;
    for (const c of chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
  cancel(): Promise<void> {
    return this.#reader.cancel();
  }
}

/** Yields the regular files of a tar stream in order, with their contents. */
export async function* tarFiles(
  stream: ReadableStream<Uint8Array>,
  where: string,
): AsyncGenerator<{ name: string; data: Uint8Array }> {
  const r = new StreamReader(stream);
  let longName: string | undefined;
  try {
    while (true) {
      const h = await r.read(512);
      if (h === null) return;
      const header = parseHeader(h, where);
      if (header === null) return;
      const padded = Math.ceil(header.size / 512) * 512;
      const body = padded > 0 ? await r.read(padded) : new Uint8Array(0);
      if (body === null) {
        throw new Error(
          `Cannot read ${where}: tar entry ${header.name} is truncated; download the archive again.`,
        );
      }
      const data = body.subarray(0, header.size);
      if (header.type === "L") {
        longName = str(data, 0, data.length);
      } else if (header.type === "x") {
        longName = paxPath(data) ?? longName;
      } else if (header.type === "0" || header.type === "7") {
        yield { name: longName ?? header.name, data };
        longName = undefined;
      } else {
        longName = undefined;
      }
    }
  } finally {
    await r.cancel().catch(() => {});
  }
}

/** Lists the regular files of an uncompressed tar file with their offsets, reading only headers. */
export async function indexTar(path: string): Promise<TarEntry[]> {
  const file = await Deno.open(path);
  try {
    const size = (await file.stat()).size;
    const entries: TarEntry[] = [];
    const h = new Uint8Array(512);
    let pos = 0;
    let longName: string | undefined;
    while (pos + 512 <= size) {
      await file.seek(pos, Deno.SeekMode.Start);
      await readFull(file, h, path);
      const header = parseHeader(h, path);
      if (header === null) break;
      const dataPos = pos + 512;
      if (dataPos + header.size > size) {
        throw new Error(
          `Cannot read ${path}: tar entry ${header.name} is truncated; copy the shard again.`,
        );
      }
      if (header.type === "L" || header.type === "x") {
        const data = new Uint8Array(header.size);
        await readFull(file, data, path);
        longName = header.type === "L" ? str(data, 0, data.length) : paxPath(data) ?? longName;
      } else {
        if (header.type === "0" || header.type === "7") {
          entries.push({ name: longName ?? header.name, offset: dataPos, size: header.size });
        }
        longName = undefined;
      }
      pos = dataPos + Math.ceil(header.size / 512) * 512;
    }
    return entries;
  } finally {
    file.close();
  }
}

/** Fills `buf` from the file's current position. */
export async function readFull(file: Deno.FsFile, buf: Uint8Array, where: string): Promise<void> {
  let o = 0;
  while (o < buf.length) {
    const n = await file.read(buf.subarray(o));
    if (n === null) throw new Error(`Cannot read ${where}: unexpected end of file; copy it again.`);
    o += n;
  }
}

/** Open shard files, least recently read first (a Map keeps insertion order). */
const openFiles = new Map<string, Deno.FsFile>();
/** Shards kept open at once, per thread. */
const MAX_OPEN_FILES = 16;

/**
 * Reads `size` bytes at `offset` of a file. The file stays open for the next
 * read (up to {@link MAX_OPEN_FILES} per thread, least recently read closed
 * first): a WebDataset sample is one seek and one read of an open shard, not
 * an open, a seek, a read and a close. The reads are synchronous, so two
 * in flight on one thread never share a file position.
 *
 * @param path the file
 * @param offset the first byte
 * @param size bytes to read
 * @returns the bytes
 */
export function readAt(path: string, offset: number, size: number): Promise<Uint8Array> {
  try {
    let file = openFiles.get(path);
    if (file) {
      openFiles.delete(path);
    } else {
      file = Deno.openSync(path);
      if (openFiles.size >= MAX_OPEN_FILES) {
        const [oldest, handle] = openFiles.entries().next().value!;
        openFiles.delete(oldest);
        handle.close();
      }
    }
    openFiles.set(path, file);
    file.seekSync(offset, Deno.SeekMode.Start);
    const buf = new Uint8Array(size);
    for (let o = 0; o < size;) {
      const n = file.readSync(buf.subarray(o));
      if (n === null) {
        throw new Error(`Cannot read ${path}: unexpected end of file; copy it again.`);
      }
      o += n;
    }
    return Promise.resolve(buf);
  } catch (e) {
    return Promise.reject(e);
  }
}

/** Closes the files {@link readAt} keeps open on this thread. */
export function closeOpenFiles(): void {
  for (const file of openFiles.values()) file.close();
  openFiles.clear();
}

/** Builds an uncompressed tar archive in memory (used by tests and benchmarks). */
export function makeTar(files: readonly { name: string; data: Uint8Array }[]): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const f of files) {
    const h = new Uint8Array(512);
    h.set(enc.encode(f.name).subarray(0, 100), 0);
    h.set(enc.encode("0000644\0"), 100);
    h.set(enc.encode("0000000\0"), 108);
    h.set(enc.encode("0000000\0"), 116);
    h.set(enc.encode(f.data.length.toString(8).padStart(11, "0") + "\0"), 124);
    h.set(enc.encode("00000000000\0"), 136);
    h[156] = 48;
    h.set(enc.encode("ustar\x0000"), 257);
    h.fill(32, 148, 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += h[i];
    h.set(enc.encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
    parts.push(h);
    const body = new Uint8Array(Math.ceil(f.data.length / 512) * 512);
    body.set(f.data);
    parts.push(body);
  }
  parts.push(new Uint8Array(1024));
  const total = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
