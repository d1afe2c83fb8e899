/**
 * What distribution costs: MPI_Allreduce bandwidth for gradients the size of
 * ResNet-18 and ResNet-50 (CIFAR heads) between local ranks, and the time of
 * a training step alone versus with gradients averaged — once with 25 MiB
 * buckets reduced while backward runs, once as a single bucket after it.
 *
 * {@link benchAllreduce} launches itself under `mpirun` (2 ranks by default)
 * and returns rank 0's measurements:
 *
 * ```sh
 * deno run -A packages/distributed/bench.ts [--ranks 2] [--cpu] [--steps 3]
 * ```
 *
 * Bandwidths follow nccl-tests: algbw = bytes / time; busbw = algbw · 2(N−1)/N,
 * the rate each link must sustain in a ring all-reduce.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Agd, agdInit, trainStep } from "@agd/agd";
import { createModel } from "@agd/models";
import { cpu, crossEntropyLoss, setBackend, type Tensor, tensor, useWebGPU } from "@agd/tensor";
import { DataParallel } from "./data_parallel.ts";
import { median } from "@agd/tensor/bench/stats";

/** Options of {@link benchAllreduce}. */
export interface AllreduceBenchOptions {
  /** Local ranks (default 2). */
  ranks?: number;
  /** Timed repetitions per all-reduce size (default 5, after 2 warm-ups). */
  repeats?: number;
  /** Timed training steps per mode (default 3, after 1 warm-up). */
  steps?: number;
  /** Samples per rank and step (default 32). */
  batch?: number;
  /** Model of the step measurement (default `fcn`: depth 10, width 1024, 11.5M weights, ResNet-18's gradient size at a fraction of its compute). */
  arch?: "fcn" | "resnet18" | "resnet50";
  /** Use the CPU backend instead of WebGPU for the step measurement. */
  cpu?: boolean;
  /** Print a table (default true). */
  log?: boolean;
}

/** One all-reduce size. */
export interface AllreduceResult {
  /**
   * `resnet18` or `resnet50`, and how it was reduced: `one buffer`
   * (`Mpi.allreduceSum` slices it into 16 MiB calls) or `25 MiB buckets`
   * (one call per bucket, as in training).
   */
  name: string;
  /** float32 values reduced. */
  values: number;
  /** Median milliseconds. */
  ms: number;
  /** Bytes / time, GB/s. */
  algbw: number;
  /** algbw · 2(N−1)/N, GB/s. */
  busbw: number;
}

/** Step time of one mode. */
export interface StepResult {
  /**
   * `alone` (no communication), `overlapped` (25 MiB buckets read back as
   * backward computes them), `buckets after backward` (the same buckets, read
   * once backward is recorded) or `one bucket` (everything after backward).
   */
  mode: string;
  /** Median milliseconds per step. */
  ms: number;
  /** Median milliseconds in MPI_Allreduce per step (0 alone). */
  commMs: number;
  /** Median milliseconds waited for gradients after backward was recorded. */
  waitMs: number;
  /** Extra time over `alone`, in percent. */
  overheadPercent: number;
}

/** Everything {@link benchAllreduce} measured. */
export interface AllreduceBench {
  /** Ranks. */
  ranks: number;
  /** Backend of the step measurement. */
  backend: string;
  /** Model and batch of the step measurement. */
  model: string;
  /** All-reduce timings. */
  allreduce: AllreduceResult[];
  /** Step timings. */
  steps: StepResult[];
}

const MiB = 2 ** 20;

/** Weights of an architecture with a CIFAR head, counted without building it on a GPU. */
function weightCount(arch: "resnet18" | "resnet50"): number {
  const model = createModel(arch, "cifar10", { backend: cpu() });
  const n = model.parameters().reduce((a, p) => a + p.value.size, 0);
  model.dispose();
  return n;
}

/** One rank's part: run inside an MPI job; returns rank 0's view. */
async function worker(options: AllreduceBenchOptions): Promise<AllreduceBench> {
  const dp = DataParallel.init({ selectGpu: !options.cpu });
  const repeats = options.repeats ?? 5;
  const ranks = dp.size;
  const factor = (2 * (ranks - 1)) / ranks;
  const allreduce: AllreduceResult[] = [];
  for (const arch of ["resnet18", "resnet50"] as const) {
    const values = weightCount(arch);
    const buffer = new Float32Array(values).fill(1);
    const bucket = (25 * MiB) / 4;
    for (const bucketed of [false, true]) {
      const times: number[] = [];
      for (let r = 0; r < repeats + 2; r++) {
        await dp.barrier();
        const start = performance.now();
        if (bucketed) {
          for (let off = 0; off < values; off += bucket) {
            await dp.mpi.allreduceSum(buffer.subarray(off, Math.min(off + bucket, values)));
          }
        } else {
          await dp.mpi.allreduceSum(buffer);
        }
        if (r >= 2) times.push(performance.now() - start);
      }
      const ms = median(times);
      const algbw = (values * 4) / (ms / 1000) / 1e9;
      allreduce.push({
        name: `${arch} ${bucketed ? "25 MiB buckets" : "one buffer"}`,
        values,
        ms,
        algbw,
        busbw: algbw * factor,
      });
    }
  }

  if (options.cpu) setBackend(cpu());
  else await useWebGPU();
  const arch = options.arch ?? "fcn";
  const batch = options.batch ?? 32;
  const model = createModel(arch, "cifar10", { depth: 10, width: 1024, seed: 0 });
  const params = model.parameters();
  agdInit(params, { seed: 0 });
  await dp.broadcast(params);
  const optimizer = new Agd();
  const step = {
    forward: (t: Tensor) => model.forward(t),
    loss: crossEntropyLoss,
    params,
    optimizer,
    stats: false,
  } as const;
  let state = optimizer.init(params);
  const x = tensor(
    Float32Array.from({ length: batch * 3 * 32 * 32 }, (_, i) => Math.sin(i + dp.rank)),
    { shape: [batch, 3, 32, 32] },
  );
  const y = tensor(Int32Array.from({ length: batch }, (_, i) => (i + dp.rank) % 10));
  const modes = [
    { mode: "alone", bucketMiB: 0, watch: false },
    { mode: "overlapped", bucketMiB: 25, watch: true },
    { mode: "buckets after backward", bucketMiB: 25, watch: false },
    { mode: "one bucket", bucketMiB: Infinity, watch: false },
  ];
  const times = modes.map(() => [] as number[]);
  const comm = modes.map(() => [] as number[]);
  const wait = modes.map(() => [] as number[]);
  // Modes take turns, step by step, so that a change in the machine's load
  // (or the GPU's clock) shifts all of them alike; round 0 warms up.
  for (let s = 0; s < (options.steps ?? 3) + 1; s++) {
    for (const [m, { bucketMiB, watch }] of modes.entries()) {
      await dp.barrier();
      const before = dp.timing;
      const start = performance.now();
      const sync = bucketMiB ? dp.syncGradients(params, { bucketMiB }) : undefined;
      // Without watch(), the buckets are read once backward is recorded.
      const hook = sync && !watch ? { done: () => sync.done() } : sync;
      const { eta, state: next } = await trainStep(step, { x, y, state, sync: hook });
      state = next;
      await eta.item(); // the step is over when the GPU has finished it
      eta.dispose();
      if (s === 0) continue;
      times[m].push(performance.now() - start);
      comm[m].push((dp.timing.commSeconds - before.commSeconds) * 1000);
      wait[m].push((dp.timing.waitSeconds - before.waitSeconds) * 1000);
    }
  }
  const steps: StepResult[] = modes.map(({ mode }, m) => ({
    mode,
    ms: median(times[m]),
    commMs: median(comm[m]),
    waitMs: median(wait[m]),
    overheadPercent: 0,
  }));
  for (const s of steps) s.overheadPercent = (100 * (s.ms - steps[0].ms)) / steps[0].ms;
  const count = params.reduce((n, p) => n + p.value.size, 0);
  const result: AllreduceBench = {
    ranks,
    backend: options.cpu ? "cpu" : "webgpu",
    model: `${arch} (${(count / 1e6).toFixed(1)}M weights), ${batch} samples per rank`,
    allreduce,
    steps,
  };
  x.dispose();
  y.dispose();
  model.dispose();
  await dp.finalize();
  return result;
}

function show(r: AllreduceBench): void {
  console.log(`MPI_Allreduce between ${r.ranks} local ranks (float32, in place):`);
  console.log("  size                       values      ms   algbw GB/s   busbw GB/s");
  for (const a of r.allreduce) {
    console.log(
      `  ${a.name.padEnd(24)} ${String(a.values).padStart(9)} ${a.ms.toFixed(1).padStart(7)} ` +
        `${a.algbw.toFixed(2).padStart(12)} ${a.busbw.toFixed(2).padStart(12)}`,
    );
  }
  console.log(`Training step, ${r.model}, ${r.backend}:`);
  console.log("  mode                      ms/step   in MPI   waited   overhead");
  for (const s of r.steps) {
    console.log(
      `  ${s.mode.padEnd(24)} ${s.ms.toFixed(0).padStart(8)} ${s.commMs.toFixed(0).padStart(8)} ` +
        `${s.waitMs.toFixed(0).padStart(8)} ${s.overheadPercent.toFixed(1).padStart(9)}%`,
    );
  }
}

/**
 * Measures all-reduce bandwidth and the step-time overhead of distribution
 * between local ranks, launching itself with `mpirun` (which must be
 * installed). Run it alone: other load on the machine distorts it.
 *
 * @example
 * ```ts ignore
 * import { benchAllreduce } from "@agd/distributed/bench";
 * const r = await benchAllreduce({ ranks: 2 });
 * console.log(r.allreduce[0].busbw, r.steps[1].overheadPercent);
 * ```
 *
 * @param options ranks, repetitions, model and backend
 * @returns rank 0's measurements
 */
export async function benchAllreduce(options: AllreduceBenchOptions = {}): Promise<AllreduceBench> {
  const out = await Deno.makeTempFile({ suffix: ".json" });
  const args = [
    "--oversubscribe",
    // mpirun's default binding (one core per rank) starves Deno's threads.
    "--bind-to",
    "none",
    "-np",
    String(options.ranks ?? 2),
    Deno.execPath(),
    "run",
    "-A",
    new URL(import.meta.url).pathname,
    "--worker",
    "--json",
    out,
    "--repeats",
    String(options.repeats ?? 5),
    "--steps",
    String(options.steps ?? 3),
    "--batch",
    String(options.batch ?? 32),
    "--arch",
    options.arch ?? "fcn",
    ...(options.cpu ? ["--cpu"] : []),
  ];
  if (Deno.uid() === 0) args.unshift("--allow-run-as-root");
  const job = await new Deno.Command("mpirun", { args, stdout: "inherit", stderr: "inherit" })
    .output();
  if (!job.success) {
    throw new Error(`Cannot benchmark all-reduce: mpirun exited with ${job.code} (see above)`);
  }
  const result = JSON.parse(await Deno.readTextFile(out)) as AllreduceBench;
  await Deno.remove(out);
  if (options.log ?? true) show(result);
  return result;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      worker: { type: "boolean", default: false },
      json: { type: "string" },
      ranks: { type: "string", default: "2" },
      repeats: { type: "string", default: "5" },
      steps: { type: "string", default: "3" },
      batch: { type: "string", default: "32" },
      arch: { type: "string", default: "fcn" },
      cpu: { type: "boolean", default: false },
    },
  });
  const options: AllreduceBenchOptions = {
    ranks: Number(values.ranks),
    repeats: Number(values.repeats),
    steps: Number(values.steps),
    batch: Number(values.batch),
    arch: values.arch as AllreduceBenchOptions["arch"],
    cpu: values.cpu,
  };
  if (values.worker) {
    const result = await worker(options);
    if (result && values.json && Deno.env.get("OMPI_COMM_WORLD_RANK") === "0") {
      await Deno.writeTextFile(values.json, JSON.stringify(result));
    }
  } else {
    await benchAllreduce(options);
  }
}
