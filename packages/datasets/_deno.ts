// Deno's file-system API for the functions that read or write files (private).
// They reach it through `globalThis`, so that a web page can import the modules
// that hold them, for their in-memory functions, and a call that needs files
// fails with one sentence instead of `Deno is not defined`.

/**
 * The `Deno` namespace, or an error saying that `action` needs it.
 *
 * @param action what the caller was doing, e.g. `read /data/train.bin`
 * @param instead what a browser program does instead, e.g. `fetch the bytes and use parseCifar`
 */
export function denoFs(action: string, instead: string): typeof Deno {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (!deno) {
    throw new Error(
      `Cannot ${action}: file access needs Deno, which this runtime lacks; ${instead} instead.`,
    );
  }
  return deno;
}
