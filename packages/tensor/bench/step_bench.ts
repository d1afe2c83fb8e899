/**
 * Throughput of a whole training step on the current WebGPU adapter: forward,
 * mseLoss, backward and an AGD step, issued back to back with no host
 * synchronisation (as the trainer does), and one read at the end.
 *
 * Figures per model:
 * - samples/s: batch · steps / wall time from the first issued step to the
 *   end of the final read (the GPU's pace once it is kept busy);
 * - encode ms/step: the JavaScript time spent issuing one step (building the
 *   graph, recording dispatches), less the time inside `queue.submit`. When
 *   it is well below the wall time per step, the GPU — not JavaScript — is
 *   the limit;
 * - submit ms/step: time inside `queue.submit`; a software adapter
 *   (lavapipe) runs the work there, so on it this is mostly GPU time;
 * - process cpu ms/step: CPU time of all the process's threads. On a
 *   software adapter that includes the "GPU", and it is far less sensitive
 *   than wall time to other processes sharing the cores;
 * - dispatches/step: compute dispatches recorded.
 *
 * It lives in the tensor package but imports `@agd/models` and `@agd/agd`
 * (which depend on it), so it is left out of the published package.
 *
 * Run it as
 *
 * ```sh
 * deno run -A packages/tensor/bench/step_bench.ts [--quick] [--model fcn|resnet18] [--steps N]
 * ```
 *
 * @module
 */
import { cpuUsage } from "node:process";
import { parseArgs } from "node:util";
import { Agd, agdInit } from "@agd/agd";
import { createModel } from "@agd/models";
import { backward, mseLoss, Rng, tensor, tidy, webgpu } from "../mod.ts";
import type { WebGpuBackend } from "../backend/webgpu/webgpu_backend.ts";

/** What to train in {@link benchStep}. */
export interface StepBenchOptions {
  /** Architecture for `createModel` (default `fcn`). */
  arch?: string;
  /** Dataset shape for `createModel` (default `mnist`). */
  dataset?: string;
  /** FCN depth (default 8). */
  depth?: number;
  /** FCN width (default 256). */
  width?: number;
  /** Batch size (default 128). */
  batch?: number;
  /** Timed steps (default 50). */
  steps?: number;
  /** Untimed steps first: pipelines, autotuning and the buffer pool warm up (default 3). */
  warmup?: number;
  /** The backend (default: the shared WebGPU backend). */
  backend?: WebGpuBackend;
}

/** The figures of one {@link benchStep} run. */
export interface StepBenchResult {
  /** e.g. `fcn d8 w256 b128`. */
  name: string;
  /** Training samples per second over the timed steps. */
  samplesPerSec: number;
  /** Wall milliseconds per step (issue to GPU completion, amortised). */
  msPerStep: number;
  /**
   * JavaScript milliseconds spent building and encoding one step: the time
   * the step's code ran, less the time inside `queue.submit` (which a
   * software adapter spends executing the work).
   */
  encodeMsPerStep: number;
  /** Milliseconds per step spent inside `queue.submit`. */
  submitMsPerStep: number;
  /**
   * CPU milliseconds the whole process used per step (all threads). On a
   * software adapter (lavapipe) this includes the "GPU" work and, unlike
   * wall time, hardly depends on other processes sharing the cores.
   */
  processCpuMsPerStep: number;
  /** Compute dispatches recorded per step. */
  dispatchesPerStep: number;
}

/**
 * Times `steps` AGD training steps of a model, with one read at the end.
 *
 * @param options model, batch and step counts
 * @returns samples/s, wall and encode milliseconds per step
 * @example
 * ```ts ignore
 * import { benchStep } from "./step_bench.ts";
 * const r = await benchStep({ arch: "fcn", depth: 8, width: 256, batch: 128, steps: 20 });
 * console.log(`${r.samplesPerSec.toFixed(0)} samples/s`);
 * ```
 */
export async function benchStep(options: StepBenchOptions = {}): Promise<StepBenchResult> {
  const arch = options.arch ?? "fcn";
  const dataset = options.dataset ?? (arch === "fcn" ? "mnist" : "cifar10");
  const depth = options.depth ?? 8;
  const width = options.width ?? 256;
  const batch = options.batch ?? 128;
  const steps = options.steps ?? 50;
  const warmup = options.warmup ?? 3;
  const backend = options.backend ?? await webgpu();
  const model = createModel(arch, dataset, { depth, width, backend });
  const params = model.parameters();
  agdInit(params, { seed: 0 });
  const agd = new Agd();
  const inputShape = dataset.includes("mnist") ? [batch, 1, 28, 28] : [batch, 3, 32, 32];
  const rng = new Rng(0);
  // A few host batches, uploaded every step as the trainer's loader does.
  const batches = Array.from({ length: 4 }, (_, i) => ({
    x: rng.normals(inputShape.reduce((a, b) => a * b)),
    y: Int32Array.from({ length: batch }, (_, k) => (k * 7 + i) % 10),
  }));
  /**
   * Issues one step; returns the milliseconds JavaScript spent on it and, of
   * those, the milliseconds inside `queue.submit`.
   */
  const step = (i: number): { ms: number; submitMs: number } => {
    const submitBefore = backend.counters().submitMs;
    const start = performance.now();
    const b = batches[i % batches.length];
    const x = tensor(b.x, { shape: inputShape, backend });
    const y = tensor(b.y, { backend });
    tidy(() => backward(mseLoss(model.forward(x), y)));
    const eta = agd.step(params);
    [x, y, eta].forEach((t) => t.dispose());
    return { ms: performance.now() - start, submitMs: backend.counters().submitMs - submitBefore };
  };
  for (let i = 0; i < warmup; i++) step(i);
  await backend.sync();
  const before = backend.counters();
  let encode = 0;
  let submit = 0;
  const cpuBefore = cpuUsage();
  const start = performance.now();
  for (let i = 0; i < steps; i++) {
    const t = step(i);
    encode += t.ms - t.submitMs;
    submit += t.submitMs;
  }
  // One read of a weight waits for every step (they all write the weights).
  await params[0].value.data();
  const wall = performance.now() - start;
  const cpu = cpuUsage(cpuBefore);
  const after = backend.counters();
  model.dispose();
  const name = arch === "fcn" ? `fcn d${depth} w${width} b${batch}` : `${arch} b${batch}`;
  return {
    name,
    samplesPerSec: (batch * steps) / (wall / 1000),
    msPerStep: wall / steps,
    encodeMsPerStep: encode / steps,
    submitMsPerStep: submit / steps,
    processCpuMsPerStep: (cpu.user + cpu.system) / 1000 / steps,
    dispatchesPerStep: (after.dispatches - before.dispatches) / steps,
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean", default: false },
      model: { type: "string" },
      steps: { type: "string" },
    },
  });
  const quick = values.quick!;
  const cases: StepBenchOptions[] = [
    { arch: "fcn", depth: 8, width: 256, batch: 128, steps: quick ? 20 : 100 },
    { arch: "resnet18", batch: 16, steps: quick ? 3 : 10, warmup: 2 },
  ].filter((c) => !values.model || c.arch === values.model)
    .map((c) => (values.steps ? { ...c, steps: Number(values.steps) } : c));
  const backend = await webgpu();
  console.log(`adapter: ${backend.adapterInfo.description || backend.adapterInfo.vendor}`);
  for (const c of cases) {
    const r = await benchStep({ ...c, backend });
    console.log(
      `${r.name.padEnd(20)} ${
        r.samplesPerSec.toFixed(r.samplesPerSec < 100 ? 2 : 0).padStart(7)
      } samples/s  ` +
        `${r.msPerStep.toFixed(2).padStart(8)} ms/step  ` +
        `encode ${r.encodeMsPerStep.toFixed(2).padStart(6)} ms/step  ` +
        `submit ${r.submitMsPerStep.toFixed(2).padStart(7)} ms/step  ` +
        `process cpu ${r.processCpuMsPerStep.toFixed(1).padStart(7)} ms/step  ` +
        `${r.dispatchesPerStep.toFixed(0)} dispatches/step`,
    );
  }
}
