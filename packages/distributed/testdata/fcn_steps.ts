/**
 * A few AGD steps of a tiny fcn on generated data, the way apps/cli/train.ts
 * runs them: alone with the global batch, or as one rank of an `mpirun` job
 * (`--distribute`) with batch / N per rank. Each process writes its final
 * weights as JSON to `--out` (rank r > 0 to `<out>.rank<r>`). Used by
 * distributed_test.ts.
 *
 * ```sh
 * mpirun --allow-run-as-root --oversubscribe -np 2 deno run -A fcn_steps.ts --distribute --out w.json
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Agd, agdInit, trainStep } from "@agd/agd";
import { ArrayDataset, createLoader, datasetInfo } from "@agd/datasets";
import { createModel } from "@agd/models";
import { cpu, crossEntropyLoss, setBackend, type Tensor, tensor, useWebGPU } from "@agd/tensor";
import type { DataParallel } from "../data_parallel.ts";

/** Options of {@link trainSteps}. */
export interface StepsOptions {
  /** AGD steps (default 3). */
  steps?: number;
  /** Global batch size (default 16). */
  batch?: number;
  /** Generated samples (default 64). */
  samples?: number;
  /** Train on WebGPU instead of the CPU reference backend. */
  webgpu?: boolean;
  /** The job when run as a rank. */
  dp?: DataParallel;
  /** Behave badly on this rank after the first step (tests of failure handling). */
  fail?: { rank: number; how: "exit" | "hang" };
  /**
   * Called on rank 0 after every step with the weights, as the trainer
   * checkpoints: tests check that a failed job leaves the last one intact.
   */
  onStep?: (step: number, weights: Float32Array[]) => Promise<void>;
}

/** Random 28×28 images with labels 0..9, the same for every seed-0 caller. */
function generated(samples: number): ArrayDataset {
  let s = 12345;
  const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24;
  const images = Uint8Array.from({ length: samples * 784 }, next);
  const labels = Uint8Array.from({ length: samples }, () => next() % 10);
  return new ArrayDataset({ images, labels, count: samples }, {
    info: datasetInfo("mnist"),
    split: "train",
    augment: false,
  });
}

/**
 * Trains and returns the final weights (one array per parameter).
 *
 * @param options steps, batch, samples and the job
 * @returns the weights in model order
 */
export async function trainSteps(options: StepsOptions = {}): Promise<Float32Array[]> {
  if (options.webgpu) await useWebGPU();
  else setBackend(cpu());
  const { steps = 3, batch = 16, samples = 64, dp } = options;
  const rank = dp?.rank ?? 0;
  const world = dp?.size ?? 1;
  const model = createModel("fcn", "mnist", { depth: 3, width: 16, seed: 0 });
  const params = model.parameters();
  // Other ranks start from other weights: the broadcast must replace them.
  agdInit(params, { seed: rank === 0 ? 0 : 1000 + rank });
  if (dp) await dp.broadcast(params);
  const loader = createLoader(generated(samples), {
    batchSize: batch / world,
    shuffle: true,
    seed: 0,
    rank,
    worldSize: world,
  });
  const optimizer = new Agd();
  const setup = {
    forward: (t: Tensor) => model.forward(t),
    loss: crossEntropyLoss,
    params,
    optimizer,
    stats: false,
  } as const;
  let state = optimizer.init(params);
  let step = 0;
  for await (const b of loader) {
    if (step === steps) break;
    const x = tensor(b.images, { shape: [b.size, 1, 28, 28] });
    const y = tensor(b.labels);
    const sync = dp?.syncGradients(params);
    const { eta, state: next } = await trainStep(setup, { x, y, state, sync });
    state = next;
    eta.dispose();
    x.dispose();
    y.dispose();
    step++;
    if (rank === 0 && options.onStep) {
      await options.onStep(
        step,
        await Promise.all(params.map((p) => p.value.data() as Promise<Float32Array>)),
      );
    }
    if (options.fail && rank === options.fail.rank) {
      if (options.fail.how === "exit") Deno.exit(3);
      await new Promise(() => setTimeout(() => {}, 1e9));
    }
  }
  const weights = await Promise.all(params.map((p) => p.value.data() as Promise<Float32Array>));
  model.dispose();
  return weights;
}

/** `{ step, weights }` as JSON, written to a temporary file and renamed, like a checkpoint. */
async function writeAtomically(path: string, step: number, weights: Float32Array[]): Promise<void> {
  await Deno.writeTextFile(
    `${path}.tmp`,
    JSON.stringify({ step, weights: weights.map((w) => [...w]) }),
  );
  await Deno.rename(`${path}.tmp`, path);
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      steps: { type: "string", default: "3" },
      batch: { type: "string", default: "16" },
      out: { type: "string" },
      checkpoint: { type: "string" },
      distribute: { type: "boolean", default: false },
      fail: { type: "string" },
      webgpu: { type: "boolean", default: false },
      "bucket-mib": { type: "string", default: "25" },
    },
  });
  const { DataParallel } = await import("../data_parallel.ts");
  const dp = values.distribute
    ? DataParallel.init({ selectGpu: false, bucketMiB: Number(values["bucket-mib"]) })
    : undefined;
  const [how, failRank] = (values.fail ?? "").split(":");
  const weights = await trainSteps({
    steps: Number(values.steps),
    batch: Number(values.batch),
    dp,
    webgpu: values.webgpu,
    fail: how ? { rank: Number(failRank), how: how as "exit" | "hang" } : undefined,
    onStep: values.checkpoint
      ? (step, w) => writeAtomically(values.checkpoint!, step, w)
      : undefined,
  });
  const rank = dp?.rank ?? 0;
  if (values.out) {
    const path = rank === 0 ? values.out : `${values.out}.rank${rank}`;
    await Deno.writeTextFile(path, JSON.stringify(weights.map((w) => [...w])));
  }
  await dp?.finalize();
}
