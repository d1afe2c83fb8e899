/**
 * Keeps the Vulkan loader quiet on machines without a display session. With
 * `XDG_RUNTIME_DIR` unset (containers, CI, ssh without systemd-logind), the
 * window-system part of Mesa's and SwiftShader's drivers prints
 * `error: XDG_RUNTIME_DIR is invalid or not set in the environment.` each
 * time an adapter is requested, although compute needs no window system.
 * Pointing the variable at a private directory before the first request, as
 * logind would, removes the false alarm without hiding any real error.
 *
 * @module
 */

let done = false;

/**
 * Sets `XDG_RUNTIME_DIR` to a private per-user directory (mode 0700 under the
 * temp directory) when it is unset or not a directory. Does nothing outside
 * Deno, when the variable is already valid, or without env/write permission.
 */
export function ensureRuntimeDir(): void {
  if (done) return;
  done = true;
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (!deno?.env || deno.build.os === "windows") return;
  try {
    const current = deno.env.get("XDG_RUNTIME_DIR");
    if (current && isPrivateDir(deno, current)) return;
    const tmp = deno.env.get("TMPDIR") || "/tmp";
    const dir = `${tmp}/agd-runtime-${deno.uid() ?? "user"}`;
    deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (isPrivateDir(deno, dir)) deno.env.set("XDG_RUNTIME_DIR", dir);
  } catch {
    // No permission to read or set the environment: the drivers only print a warning.
  }
}

/** A directory owned by this user that nobody else may enter (what the loader checks). */
function isPrivateDir(deno: typeof Deno, path: string): boolean {
  try {
    const info = deno.statSync(path);
    return info.isDirectory && info.uid === deno.uid() && ((info.mode ?? 0) & 0o077) === 0;
  } catch {
    return false;
  }
}
