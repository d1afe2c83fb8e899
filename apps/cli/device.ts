/**
 * Where `deno task train` runs (`--device auto|webgpu|wasm|cpu`). `auto`
 * takes WebGPU on a hardware adapter; on a software adapter (lavapipe,
 * SwiftShader: the GPU is the CPU) or none, it times this run's own training
 * step on WebGPU and on the wasm backend (WebAssembly SIMD on every core) and
 * keeps the faster, so a laptop without a GPU gets its fastest backend
 * without knowing which that is. The choice and why are the run's first line.
 *
 * @module
 */
import { agdInit, disposeState, trainStep } from "@agd/agd";
import { createModel, DATASET_SHAPES } from "@agd/models";
import {
  type Backend,
  cpu,
  Rng,
  setBackend,
  type Tensor,
  tensor,
  useWasm,
  useWebGPU,
  wasm,
  webgpu,
} from "@agd/tensor";
import type { TrainConfig } from "./args.ts";
import { lossFunction, makeOptimizer } from "./setup.ts";

/** The backends `--device` names. */
export const DEVICES = ["auto", "webgpu", "wasm", "cpu"] as const;
/** A `--device` value. */
export type DeviceChoice = (typeof DEVICES)[number];

/** Timed steps per candidate (after one warm-up step). */
const TIMED_STEPS = 2;
/** Largest batch the measurement uses: enough to rank the backends, quick on both. */
const PROBE_BATCH = 32;

/**
 * Sets the backend of the run and returns the line that says which and why.
 *
 * @param config the run's flags (`device`, `webgpu`, model and batch)
 * @returns a one-line description of the choice
 */
export async function chooseDevice(config: TrainConfig): Promise<string> {
  // Runs saved before --device existed say only whether they ran on the CPU.
  const device = config.device ?? (config.cpu ? "cpu" : "auto");
  if (device === "cpu") {
    setBackend(cpu());
    return "Device: cpu (the reference loops; --device auto picks the fastest)";
  }
  if (device === "wasm") return `Device: ${(await useWasm()).description}`;
  if (device === "webgpu") {
    const gpu = await useWebGPU({ implementation: config.webgpu });
    return `Device: ${gpuName(gpu)}`;
  }
  const gpu = await webgpu({ implementation: config.webgpu }).catch(() => undefined);
  if (gpu && !software(gpu)) {
    setBackend(gpu);
    return `Device: ${gpuName(gpu)}`;
  }
  const cpuFast = await wasm();
  if (!gpu) {
    setBackend(cpuFast);
    return `Device: ${cpuFast.description} (no WebGPU adapter)`;
  }
  const gpuMs = await stepMs(config, gpu);
  const wasmMs = await stepMs(config, cpuFast);
  const [chosen, name] = wasmMs <= gpuMs ? [cpuFast, cpuFast.description] : [gpu, gpuName(gpu)];
  setBackend(chosen);
  const figures = `${gpuName(gpu)} ${gpuMs.toFixed(1)} ms, ${cpuFast.description} ${
    wasmMs.toFixed(1)
  } ms per step of this model at batch ${probeBatch(config)}`;
  return `Device: ${name}, the faster here (${figures}; --device overrides)`;
}

/** The adapter of a WebGPU backend, in words. */
function gpuName(gpu: { implementation: string; adapterInfo: GPUAdapterInfo }): string {
  const info = gpu.adapterInfo;
  return `webgpu (${gpu.implementation}: ${info.description || info.vendor || "unnamed adapter"}${
    software(gpu) ? ", software" : ""
  })`;
}

/** Whether a WebGPU adapter is a software one (the CPU standing in for a GPU). */
function software(gpu: { adapterInfo: GPUAdapterInfo }): boolean {
  return (gpu.adapterInfo as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter ??
    false;
}

function probeBatch(config: TrainConfig): number {
  return Math.min(config.train_bs, PROBE_BATCH);
}

/**
 * Milliseconds per training step of the configured model on `backend`: one
 * warm-up step (pipeline compilation, pools), then {@link TIMED_STEPS} steps
 * waited for once, on a synthetic batch. A model of its own, discarded after.
 */
async function stepMs(config: TrainConfig, backend: Backend): Promise<number> {
  const { input, classes } = DATASET_SHAPES[config.dataset];
  const batch = probeBatch(config);
  const model = createModel(config.arch, config.dataset, {
    depth: config.depth,
    width: config.width,
    seed: config.seed,
    backend,
  });
  const params = model.parameters();
  // AGD's init is host QRs (seconds for wide layers); the step's time does not depend on the weights.
  if (config.arch === "fcn" && config.width <= 512) agdInit(params, { seed: config.seed });
  const optimizer = makeOptimizer(config);
  const setup = {
    forward: (x: Tensor) => model.forward(x),
    loss: lossFunction(config),
    params,
    optimizer,
  };
  let state = optimizer.init(params);
  const rng = new Rng(config.seed);
  const x = tensor(rng.normals(batch * input[0] * input[1] * input[2]), {
    shape: [batch, ...input],
    backend,
  });
  const y = tensor(Int32Array.from({ length: batch }, () => rng.int(classes)), { backend });
  let eta: Tensor | undefined;
  const step = async () => {
    eta?.dispose();
    ({ eta, state } = await trainStep({ ...setup, stats: false }, { x, y, state }));
  };
  try {
    await step();
    await eta!.item();
    const start = performance.now();
    for (let i = 0; i < TIMED_STEPS; i++) await step();
    await eta!.item();
    return (performance.now() - start) / TIMED_STEPS;
  } finally {
    eta?.dispose();
    x.dispose();
    y.dispose();
    disposeState(state);
    model.dispose();
  }
}
