/**
 * jax-js as a peer, in this process: matmul GFLOP/s and the FCN training
 * step under `jit` — forward, the SPEC's square loss, `grad`, and AGD's
 * update written in jax-js ops — on its `wasm` device (multi-threaded
 * WebAssembly) and its `webgpu` device (Deno's navigator.gpu, its own
 * GPUDevice on the same adapter as ours). jax-js frees arrays by reference
 * count: every function takes ownership of its arguments, so an array used
 * twice is passed as `a.ref` the first time. With `leakSteps` the step
 * checks that the bytes jax-js holds stop growing (nothing leaks per step).
 *
 * @module
 */
// First: it must see jax-js construct its WebAssembly.Memory while loading.
import { releaseMemoryHook } from "./_jax_memory.ts";
import { defaultDevice, getWebGPUDevice, grad, init, jit, nn, numpy as np } from "@jax-js/jax";
import { type FcnProblem, linearScale } from "./fcn_problem.ts";
import { timeRepeated, type Timing, type TimingOptions } from "./timing.ts";

/** The jax-js version the bench imports (deno.json pins it). */
export const JAX_VERSION = "0.1.25";

/** A jax-js device the bench runs on. */
export type JaxDevice = "wasm" | "webgpu";

// Bytes per device, from hooks jax-js has no API for: its WASM backend's one
// WebAssembly.Memory (caught as the library loads) and the buffers its
// GPUDevice creates minus those it destroys. Both are high-water marks — the
// allocator and the buffer pool keep what is freed for reuse — so a leak shows
// as growth that does not stop, not as a count of live arrays.
const wasmMemory = releaseMemoryHook();
let gpuBytes = 0;
let started: Promise<string[]> | undefined;

async function initJax(): Promise<string[]> {
  const devices = await init("wasm", ...("gpu" in navigator ? ["webgpu" as const] : []));
  if (devices.includes("webgpu")) {
    const device = getWebGPUDevice();
    const create = device.createBuffer.bind(device);
    device.createBuffer = (descriptor: GPUBufferDescriptor) => {
      const buffer = create(descriptor);
      gpuBytes += descriptor.size;
      const destroy = buffer.destroy.bind(buffer);
      let destroyed = false;
      buffer.destroy = () => {
        if (!destroyed) gpuBytes -= descriptor.size;
        destroyed = true;
        destroy();
      };
      return buffer;
    };
  }
  return devices;
}

/** Why a jax-js device could not be used, or undefined when it started. */
export async function startJax(device: JaxDevice): Promise<string | undefined> {
  if (device === "webgpu" && !("gpu" in navigator)) {
    return "navigator.gpu is undefined (run Deno with --unstable-webgpu)";
  }
  try {
    started ??= initJax();
    const devices = await started;
    if (!devices.includes(device)) {
      return `jax-js init() started ${devices.join(", ")}, not ${device}`;
    }
    defaultDevice(device);
    return undefined;
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
}

/**
 * Bytes jax-js holds on `device` (WASM: its linear memory, which only grows;
 * WebGPU: buffers created and not destroyed, its pool included).
 */
export function jaxHeldBytes(device: JaxDevice): number {
  return device === "wasm" ? (wasmMemory?.buffer.byteLength ?? 0) : gpuBytes;
}

/**
 * GFLOP/s of `np.matmul` under `jit` on square float32 matrices of side
 * `size` on a jax-js device ({@link startJax} first).
 *
 * @param device wasm or webgpu
 * @param size matrix side
 * @param options timing options
 * @returns GFLOP/s
 */
export async function jaxMatmul(
  device: JaxDevice,
  size: number,
  options: TimingOptions = {},
): Promise<number> {
  const random = (seed: number) => {
    let s = seed;
    // A small LCG: the values do not matter, only that they are not all zero.
    return Float32Array.from(
      { length: size * size },
      () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) - 0.5,
    );
  };
  const a = np.array(random(1), { shape: [size, size], device });
  const b = np.array(random(2), { shape: [size, size], device });
  const mm = jit((x: np.Array, y: np.Array) => np.matmul(x, y));
  try {
    // jax-js is lazy: disposing a result before it is realised drops its
    // computation, so each product is waited for before it is disposed (a
    // wait per ~10 ms product costs nothing measurable on the CPU).
    const t = await timeRepeated(
      async () => {
        const c = mm(a.ref, b.ref);
        await c.blockUntilReady();
        c.dispose();
      },
      () => Promise.resolve(),
      options,
    );
    return (2 * size ** 3) / t.wallMs / 1e6;
  } finally {
    a.dispose();
    b.dispose();
    mm.dispose();
  }
}

/** What {@link jaxFcnStep} measured. */
export interface JaxStepResult extends Timing {
  /** Samples per second of wall time. */
  samplesPerSec: number;
  /** η of the first step (from the problem's initial weights and first batch). */
  eta: number;
  /** η of the last step. */
  lastEta: number;
  /**
   * With `leakSteps`: {@link jaxHeldBytes} after the timed run, after that many
   * more steps and after as many again (each once the work has finished).
   * The high-water mark settles when nothing leaks, so the last two are equal.
   */
  heldBytes?: [number, number, number];
}

/** Options of {@link jaxFcnStep}. */
export interface JaxStepOptions extends TimingOptions {
  /** After timing, run this many steps twice and record the bytes held after each (default 0: no check). */
  leakSteps?: number;
}

/**
 * The FCN step of {@link FcnProblem} in jax-js on a device, as one `jit`
 * function of (weights, x, labels) → (new weights, η): forward (x·Wᵀ,
 * relu·√2), the SPEC's square loss mean((f(x) − √C·onehot(y))²), `grad`
 * with respect to the weights, and AGD's update (SPEC "The optimizer"):
 * G = (1/L) Σ s_k ‖∇W_k‖_F, η = log((1 + √(1 + 4G)) / 2),
 * W_k ← W_k − (η/L) · nan_to_num(s_k / ‖∇W_k‖_F) · ∇W_k.
 *
 * @param problem weights and batches
 * @param device wasm or webgpu ({@link startJax} first)
 * @param options timing options and the leak check's steps
 * @returns timing, samples/s, the first step's η and, with `leakSteps`, bytes held
 */
export async function jaxFcnStep(
  problem: FcnProblem,
  device: JaxDevice,
  options: JaxStepOptions = {},
): Promise<JaxStepResult> {
  const depth = problem.shapes.length;
  const scales = problem.shapes.map(linearScale);
  const classes = problem.classes;
  const loss = (ws: np.Array[], x: np.Array, target: np.Array): np.Array => {
    let h = np.matmul(x, ws[0].transpose());
    for (let k = 1; k < depth; k++) {
      h = np.matmul(nn.relu(h).mul(Math.SQRT2), ws[k].transpose());
    }
    return np.mean(np.square(h.sub(target)));
  };
  // jit runs on the device its arguments are committed to (all created on `device`).
  const step = jit((ws: np.Array[], x: np.Array, y: np.Array): [np.Array[], np.Array] => {
    const target = nn.oneHot(y, classes).mul(Math.sqrt(classes));
    // Each weight is used twice, by grad and by the update: grad gets a new reference.
    const g = grad(loss)(ws.map((w) => w.ref), x, target);
    const norms = g.map((gk) => np.linalg.norm(gk.ref));
    const G = norms.map((n, k) => n.ref.mul(scales[k])).reduce((a, b) => a.add(b)).div(depth);
    const eta = np.log(np.sqrt(G.mul(4).add(1)).add(1).div(2));
    const next = ws.map((w, k) =>
      w.sub(g[k].mul(eta.ref.mul(np.nanToNum(np.reciprocal(norms[k]).mul(scales[k] / depth)))))
    );
    return [next, eta];
  });
  let ws = problem.weights.map((w, k) =>
    np.array(new Float32Array(w), { shape: problem.shapes[k], device })
  );
  const batches = problem.batches.map((b) => ({
    x: np.array(new Float32Array(b.x), { shape: [problem.batch, problem.inputSize], device }),
    y: np.array(new Int32Array(b.y), { dtype: np.int32, device }),
  }));
  let next = 0;
  let eta: np.Array | undefined;
  const issue = () => {
    const b = batches[next++ % batches.length];
    eta?.dispose();
    [ws, eta] = step(ws, b.x.ref, b.y.ref);
  };
  const etas: number[] = [];
  // Reads η (a new reference: data() consumes it), which waits for all steps issued.
  const wait = async () => void etas.push((await eta!.ref.data())[0]);
  try {
    const timing = await timeRepeated(issue, wait, options);
    const result: JaxStepResult = {
      ...timing,
      samplesPerSec: (problem.batch * 1000) / timing.wallMs,
      eta: etas[0],
      lastEta: etas.at(-1)!,
    };
    if (options.leakSteps) {
      const held = [jaxHeldBytes(device)];
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < options.leakSteps; i++) issue();
        await wait();
        held.push(jaxHeldBytes(device));
      }
      result.heldBytes = held as [number, number, number];
    }
    return result;
  } finally {
    eta?.dispose();
    ws.forEach((w) => w.dispose());
    batches.forEach((b) => (b.x.dispose(), b.y.dispose()));
    step.dispose();
  }
}
