/**
 * Where GPU adapters come from. Two WebGPU implementations can serve the same
 * kernels, and each may hold one backend in a process:
 * - `deno`: the runtime's own `navigator.gpu`: Deno's WebGPU (wgpu, WGSL
 *   compiled by Naga), or a browser's own in a web page;
 * - `dawn`: Chrome's implementation (WGSL compiled by Tint), from the npm
 *   package `webgpu` (dawn.node), loaded only when asked for, so programs
 *   that never ask for it never load it. It needs `--allow-ffi` (or `-A`).
 *
 * Tint enforces rules Naga lets pass (a constant expression must be
 * representable, uniformity of barriers), so running the kernels on both is
 * what keeps them portable to browsers.
 *
 * Dawn refuses Vulkan drivers without `shaderUniform*ArrayDynamicIndexing`,
 * Debian 12's lavapipe among them; SwiftShader, the software Vulkan driver
 * Chromium ships, works. When the user has not chosen Vulkan drivers
 * (`VK_ICD_FILENAMES`, `VK_DRIVER_FILES`, `VK_ADD_DRIVER_FILES`) and
 * SwiftShader is installed, Dawn's instance is created with SwiftShader
 * added to the drivers (`VK_ADD_DRIVER_FILES`; a GPU, when present, is still
 * preferred). The variable is set only while the Vulkan loader reads it —
 * Dawn creates its Vulkan instance synchronously inside its first
 * `requestAdapter()` call — and under a lock that Deno's first adapter
 * request also takes: wgpu reads the same variables when it creates its own
 * instance, and would otherwise pick SwiftShader too, silently testing one
 * driver twice. The lock is a file lock (flock), because test modules run in
 * parallel as workers of one process and share its environment.
 *
 * @module
 */
import { ensureRuntimeDir } from "./runtime_dir.ts";

/**
 * A WebGPU implementation: `deno`, the runtime's `navigator.gpu` (Deno's
 * wgpu/Naga; a browser's own in a page), or `dawn`, Chrome's, from npm
 * `webgpu` (Deno only).
 */
export type WebGpuImplementation = "deno" | "dawn";

/** Every implementation, in the order tests run them. */
export const WEBGPU_IMPLEMENTATIONS: readonly WebGpuImplementation[] = ["deno", "dawn"];

/** The npm package that provides Dawn (a non-literal import keeps it out of bundles). */
const DAWN_PACKAGE = { specifier: "npm:webgpu@0.6.2" };

/** SwiftShader's Vulkan driver manifests, where Chromium and Chrome install them. */
const SWIFTSHADER_ICDS = [
  "/usr/lib/chromium/vk_swiftshader_icd.json",
  "/opt/google/chrome/vk_swiftshader_icd.json",
];

/** Variables by which a user chooses Vulkan drivers (then left as they are). */
export const VULKAN_DRIVER_VARS: readonly string[] = [
  "VK_ICD_FILENAMES",
  "VK_DRIVER_FILES",
  "VK_ADD_DRIVER_FILES",
];

/**
 * Requests an adapter from `implementation`.
 *
 * @param implementation which WebGPU implementation
 * @param options passed to `requestAdapter`
 * @returns the adapter
 * @throws a one-line error saying what is missing and what to do
 */
export async function requestAdapter(
  implementation: WebGpuImplementation,
  options?: GPURequestAdapterOptions,
): Promise<GPUAdapter> {
  ensureRuntimeDir();
  if (implementation === "dawn") return await requestDawnAdapter(options);
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (!gpu) {
    throw new Error(
      'Cannot use WebGPU: navigator.gpu is undefined. Run deno with --unstable-webgpu, or add "unstable": ["webgpu"] to deno.json.',
    );
  }
  let adapter: GPUAdapter | null;
  if (denoInstanceCreated) {
    adapter = await gpu.requestAdapter(options);
  } else {
    // wgpu creates its instance, reading the Vulkan variables, on the first request.
    adapter = await withAdapterLock(() => gpu.requestAdapter(options));
    denoInstanceCreated = true;
  }
  if (!adapter) {
    throw new Error(
      "Cannot use WebGPU: no adapter found. Install a GPU driver, or on a machine without a GPU: apt-get install -y mesa-vulkan-drivers",
    );
  }
  return adapter;
}

/** Whether this worker's wgpu instance exists (it is created once, per worker). */
let denoInstanceCreated = false;

/** Dawn's GPU object of this worker, created on first use. */
let dawnGpu: Promise<GPU> | undefined;

async function requestDawnAdapter(options?: GPURequestAdapterOptions): Promise<GPUAdapter> {
  dawnGpu ??= loadDawn().catch((e: unknown) => {
    dawnGpu = undefined;
    throw e;
  });
  const adapter = await (await dawnGpu).requestAdapter(options);
  if (!adapter) {
    throw new Error(
      `Cannot use WebGPU on Dawn: no adapter found (Dawn refuses Vulkan drivers without shaderUniform*ArrayDynamicIndexing, such as Debian 12's lavapipe). Install chromium for its SwiftShader driver, or set VK_ICD_FILENAMES to a driver Dawn accepts (e.g. ${
        SWIFTSHADER_ICDS[0]
      }).`,
    );
  }
  return adapter;
}

/**
 * Loads dawn.node and creates its GPU object. Its first adapter request
 * discovers the drivers (later ones reuse them), so it is made here, in the
 * window of the module doc, and its adapter dropped.
 */
async function loadDawn(): Promise<GPU> {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (!deno) {
    throw new Error("Cannot use WebGPU on Dawn here: it runs only in Deno, through npm:webgpu.");
  }
  let create: (flags: string[]) => GPU;
  try {
    ({ create } = await import(/* @vite-ignore */ DAWN_PACKAGE.specifier));
  } catch (e) {
    const why = (e instanceof Error ? e.message : String(e)).split("\n")[0];
    throw new Error(
      `Cannot use WebGPU on Dawn: loading ${DAWN_PACKAGE.specifier} failed (${why}); run deno with -A (Dawn is a native addon: --allow-ffi, --allow-env, --allow-read).`,
    );
  }
  throttleDawnPolling();
  const icd = swiftShaderToAdd(deno);
  return await withAdapterLock(() => {
    // Synchronous from here to the restore: nothing else in this worker runs
    // while the variable is set, and the lock keeps other workers' wgpu out.
    if (icd) deno.env.set("VK_ADD_DRIVER_FILES", icd);
    let gpu: GPU;
    let discovered: Promise<unknown>;
    try {
      gpu = create([]);
      discovered = gpu.requestAdapter();
    } finally {
      if (icd) deno.env.delete("VK_ADD_DRIVER_FILES");
    }
    return discovered.then(() => gpu);
  });
}

/** Whether {@link throttleDawnPolling} has wrapped `setImmediate` in this worker. */
let pollingThrottled = false;

/**
 * dawn.node resolves its promises by calling `instance.ProcessEvents()` from
 * `setImmediate`, rescheduling itself for as long as any promise is pending
 * (crbug.com/dawn/1127): a busy-wait that keeps one core at 100% through
 * every `mapAsync`, and under Deno's N-API each round also costs far more
 * than the poll itself. On a 2-core machine it starves SwiftShader's worker
 * threads, making each kernel several times slower and some reads stall for
 * minutes. So after the first millisecond of a wait, Dawn's polls go through
 * a 1 ms timer instead: fast reads are as fast as before, long ones poll
 * ~250 times a second instead of ~10⁴.
 *
 * Dawn's callbacks are recognised as what N-API makes of them (anonymous
 * native functions); every other `setImmediate` call is passed on unchanged.
 */
function throttleDawnPolling(): void {
  const g = globalThis as { setImmediate?: (fn: unknown, ...args: unknown[]) => unknown };
  const immediate = g.setImmediate;
  if (pollingThrottled || typeof immediate !== "function") return;
  pollingThrottled = true;
  const isNative = (fn: unknown): fn is (...args: unknown[]) => void =>
    typeof fn === "function" && fn.name === "" &&
    Function.prototype.toString.call(fn).includes("[native code]");
  let waitingSince: number | undefined;
  let rescheduled = false;
  g.setImmediate = function (fn: unknown, ...args: unknown[]): unknown {
    if (!isNative(fn)) return immediate(fn, ...args);
    rescheduled = true;
    const now = performance.now();
    waitingSince ??= now;
    const poll = () => {
      rescheduled = false;
      fn(...args);
      // Dawn reschedules from inside the poll while a promise is pending.
      if (!rescheduled) waitingSince = undefined;
    };
    return now - waitingSince < 1 ? immediate(poll) : setTimeout(poll, 1);
  };
}

/**
 * The Vulkan driver manifest of SwiftShader (Chrome's CPU Vulkan), where
 * Chromium or Chrome installed it. Setting `VK_ICD_FILENAMES` to it before a
 * process starts runs Deno's WebGPU on the driver Dawn uses on machines
 * without a GPU, for same-driver comparisons.
 *
 * @returns the manifest's path, or undefined when none is installed (or outside Deno)
 */
export function swiftShaderDriver(): string | undefined {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  return SWIFTSHADER_ICDS.find((path) => {
    try {
      return deno?.statSync(path).isFile ?? false;
    } catch {
      return false;
    }
  });
}

/** SwiftShader's manifest when it is installed and the user chose no drivers. */
function swiftShaderToAdd(deno: typeof Deno): string | undefined {
  try {
    if (VULKAN_DRIVER_VARS.some((v) => deno.env.get(v) !== undefined)) return undefined;
  } catch {
    return undefined; // no permission to read the environment
  }
  return swiftShaderDriver();
}

/**
 * Runs `fn` holding an exclusive file lock shared by every worker and process
 * of this user, so that no adapter request reads the Vulkan variables while
 * Dawn's window has them set. Without Deno or write permission, runs `fn`
 * unlocked.
 */
async function withAdapterLock<T>(fn: () => Promise<T>): Promise<T> {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  let file: Deno.FsFile | undefined;
  try {
    const dir = deno?.env.get("XDG_RUNTIME_DIR") || deno?.env.get("TMPDIR") || "/tmp";
    file = await deno?.open(`${dir}/agd-webgpu-adapter.lock`, { write: true, create: true });
    await file?.lock(true);
  } catch {
    file?.close();
    file = undefined;
  }
  try {
    return await fn();
  } finally {
    file?.close(); // closing releases the lock
  }
}
