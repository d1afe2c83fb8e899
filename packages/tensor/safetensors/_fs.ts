/**
 * The file-system access of `readSafetensors` and `writeSafetensors`: Deno's
 * API found at call time, file: URLs to paths, and the atomic write.
 *
 * Nothing here runs at import time, and Deno is reached through `globalThis`
 * while file: URLs are converted without node:url, so that a web page can
 * import the package (and decode fetched bytes) without either.
 *
 * @module
 */

/**
 * Deno's file-system API, or a one-sentence error naming `action` where there is none (a web page).
 *
 * @param action what needs the file system, e.g. `read model.safetensors`
 * @returns the `Deno` namespace
 * @throws {Error} when the runtime has no `Deno`
 */
export function denoFs(action: string): typeof Deno {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (!deno) {
    throw new Error(
      `Cannot ${action}: file access needs Deno, which this runtime lacks; in a browser, fetch the bytes and use decodeSafetensors (or encodeSafetensors to produce them).`,
    );
  }
  return deno;
}

/**
 * The path of a file: URL (what node:url's fileURLToPath gives, for POSIX and Windows paths).
 *
 * @param path a path, or a file: URL
 * @returns the path
 * @throws {TypeError} for a URL of another scheme
 */
export function toPath(path: string | URL): string {
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
 * Writes `chunks` to `target` atomically: they go to a temp file
 * `<target>.tmp-<pid>-<random>` in the same directory, which is fsynced and
 * then renamed over `target`. A crash or error therefore leaves either the
 * old file or the complete new one, never a partial file; on error the temp
 * file is removed and the error rethrown. The chunks are written as they
 * come, so no second copy of the file is built in memory.
 *
 * @param deno Deno's API (see {@link denoFs})
 * @param target the file's path
 * @param chunks the file's bytes, in order
 */
export async function writeFileAtomic(
  deno: typeof Deno,
  target: string,
  chunks: Iterable<Uint8Array>,
): Promise<void> {
  const random = Array.from(
    crypto.getRandomValues(new Uint8Array(4)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
  const temp = `${target}.tmp-${deno.pid}-${random}`;
  const file = await deno.open(temp, { write: true, createNew: true });
  let closed = false;
  try {
    for (const chunk of chunks) await writeAll(file, chunk);
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
