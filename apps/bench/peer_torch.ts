/**
 * PyTorch as a peer: peer_torch.py (its CPU build, Debian's python3-torch
 * here) on the same FCN problem and matmul sizes, and peer_torch_resnet.py
 * (fp32 eager on a GPU) on our ResNet-50 step. Each returns its figures — or
 * the exact reason it could not run.
 *
 * @module
 */
import type { FcnProblem } from "./fcn_problem.ts";

/** Options of {@link benchTorch}. */
export interface TorchOptions {
  /** Interpreter (default `/usr/bin/python3`, Debian's, which has python3-torch). */
  python?: string;
  /** Square matmul sizes to time. */
  matmulSizes: number[];
  /** Seconds of work per measurement. */
  seconds: number;
  /** torch.set_num_threads (default: the core count). */
  threads?: number;
}

/** What peer_torch.py measured. */
export interface TorchResult {
  /** torch.__version__. */
  torch: string;
  /** torch.get_num_threads() during the run. */
  threads: number;
  /** BLAS_INFO of the build (Debian's: `generic`, i.e. whatever libblas.so.3 is). */
  blas_info: string;
  /** The file libblas.so.3 resolves to (the reference BLAS unless OpenBLAS is installed). */
  libblas: string;
  /** GFLOP/s of torch.mm per size. */
  matmul: { size: number; ms: number; count: number; gflops: number }[];
  /** The FCN step: ms per step, samples/s and the first step's η. */
  fcn: { ms: number; count: number; samples_per_s: number; eta: number };
}

/** The peer's figures, or why there are none. */
export type Outcome<T> = { ok: true; result: T } | { ok: false; reason: string };

/** The FCN peer's figures, or why there are none. */
export type TorchOutcome = Outcome<TorchResult>;

/** Packs weights, inputs and labels back to back, little-endian, as peer_torch.py reads them. */
function pack(problem: FcnProblem): Uint8Array {
  const parts: ArrayBufferView[] = [
    ...problem.weights,
    ...problem.batches.map((b) => b.x),
    ...problem.batches.map((b) => b.y),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), offset);
    offset += p.byteLength;
  }
  return out;
}

async function scriptPath(name: string): Promise<{ path: string; temp: boolean }> {
  const url = new URL(`./${name}`, import.meta.url);
  if (url.protocol === "file:") return { path: decodeURIComponent(url.pathname), temp: false };
  // Run from a registry: the script is a remote file, so copy it to a temp file.
  const path = await Deno.makeTempFile({ suffix: ".py" });
  await Deno.writeTextFile(path, await (await fetch(url)).text());
  return { path, temp: true };
}

/** Runs one of the peer scripts beside this module; its stdout is one JSON object. */
async function runScript<T>(
  python: string,
  name: string,
  args: string[],
): Promise<Outcome<T>> {
  const script = await scriptPath(name);
  try {
    let output: Deno.CommandOutput;
    try {
      output = await new Deno.Command(python, {
        args: [script.path, ...args],
        stdout: "piped",
        stderr: "piped",
      }).output();
    } catch (e) {
      return { ok: false, reason: `cannot start ${python}: ${(e as Error).message}` };
    }
    const stderr = new TextDecoder().decode(output.stderr).trim();
    if (!output.success) {
      const last = stderr.split("\n").filter(Boolean).at(-1) ?? `exit code ${output.code}`;
      return { ok: false, reason: `${python} ${script.path} failed: ${last}` };
    }
    return { ok: true, result: JSON.parse(new TextDecoder().decode(output.stdout)) };
  } finally {
    if (script.temp) await Deno.remove(script.path);
  }
}

/**
 * Runs the PyTorch peer on `problem`.
 *
 * @param problem the FCN weights and batches (as every framework gets them)
 * @param options interpreter, matmul sizes, seconds per measurement, threads
 * @returns the figures, or `{ ok: false, reason }` naming why the peer did not run
 * @example
 * ```ts ignore
 * import { fcnProblem } from "./fcn_problem.ts";
 * import { benchTorch } from "./peer_torch.ts";
 * const problem = await fcnProblem({ depth: 3, width: 8, dataset: "mnist", batch: 4 });
 * const out = await benchTorch(problem, { matmulSizes: [64], seconds: 0.1 });
 * console.log(out.ok ? out.result.fcn.samples_per_s : out.reason);
 * ```
 */
export async function benchTorch(
  problem: FcnProblem,
  options: TorchOptions,
): Promise<TorchOutcome> {
  const python = options.python ?? "/usr/bin/python3";
  const file = await Deno.makeTempFile({ prefix: "agd_bench_torch_", suffix: ".bin" });
  try {
    await Deno.writeFile(file, pack(problem));
    const config = {
      shapes: problem.shapes,
      batch: problem.batch,
      input_size: problem.inputSize,
      classes: problem.classes,
      batches: problem.batches.length,
      matmul_sizes: options.matmulSizes,
      seconds: options.seconds,
      threads: options.threads ?? navigator.hardwareConcurrency,
    };
    return await runScript<TorchResult>(python, "peer_torch.py", [JSON.stringify(config), file]);
  } finally {
    await Deno.remove(file);
  }
}

/** Options of {@link benchTorchResnet}. */
export interface TorchResnetOptions {
  /** Interpreter whose torch sees the GPU (default `python3` on PATH). */
  python?: string;
  /** Images per step. */
  batch: number;
  /** Timed steps (default 10). */
  steps?: number;
  /** Untimed steps first (default 3; cuDNN picks its algorithms there). */
  warmup?: number;
  /** torch device (default `cuda`). */
  device?: string;
  /**
   * torch.set_num_threads (default: the core count, as our wasm backend
   * uses; PyTorch's own default can be fewer, e.g. 1 on 2 virtual cores).
   */
  threads?: number;
  /** Image side (default 224). */
  image?: number;
  /** `resnet50` (torchvision v1.5, the default) or `resnet18_cifar` (kuangliu's pre-activation ResNet-18). */
  arch?: "resnet50" | "resnet18_cifar";
}

/** What peer_torch_resnet.py measured. */
export interface TorchResnetResult {
  /** torch.__version__. */
  torch: string;
  /** Intra-op threads (torch.get_num_threads()). */
  threads?: number;
  /** The device's name, e.g. `NVIDIA H200`. */
  device: string;
  /** Images per step. */
  batch: number;
  /** Timed steps. */
  steps: number;
  /** Milliseconds per step. */
  ms: number;
  /** Images per second. */
  samples_per_s: number;
  /** η of the last step (a sanity check: finite, > 0). */
  eta: number;
  /** torch.cuda.max_memory_allocated. */
  peak_bytes: number;
}

/**
 * Times our ResNet-50 AGD step (bias-free, non-affine BatchNorm, xent) in
 * PyTorch fp32 eager, TF32 off, on `device`.
 *
 * @param options interpreter, batch, steps, device
 * @returns the figures, or `{ ok: false, reason }` naming why the peer did not run
 * @example
 * ```ts ignore
 * import { benchTorchResnet } from "./peer_torch.ts";
 * const out = await benchTorchResnet({ batch: 64 });
 * console.log(out.ok ? out.result.samples_per_s : out.reason);
 * ```
 */
export function benchTorchResnet(
  options: TorchResnetOptions,
): Promise<Outcome<TorchResnetResult>> {
  const config = {
    batch: options.batch,
    steps: options.steps ?? 10,
    warmup: options.warmup ?? 3,
    device: options.device ?? "cuda",
    image: options.image ?? 224,
    arch: options.arch ?? "resnet50",
    threads: options.threads ?? navigator.hardwareConcurrency,
  };
  return runScript<TorchResnetResult>(
    options.python ?? "python3",
    "peer_torch_resnet.py",
    [JSON.stringify(config)],
  );
}
