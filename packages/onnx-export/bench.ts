/**
 * onnxruntime-web (wasm, one thread) inference latency of exported models, for
 * apps/bench.
 *
 * @module
 */
import { createModel, type Module } from "@agd/models";
import { cpu, Rng } from "@agd/tensor";
import { exportOnnx } from "./export.ts";
import { loadOrtModel } from "./ort.ts";
import { median } from "@agd/tensor/bench/stats";

/** Options of {@link benchOnnx}. */
export interface BenchOnnxOptions {
  /** Timed runs per model (median reported; default 20). */
  runs?: number;
  /** Untimed warm-up runs per model (default 3). */
  warmup?: number;
}

/**
 * Median batch-1 latency of each export of `model`; runs alternate between
 * the sessions so that a change in machine load affects them alike.
 */
async function latencies(
  model: Module,
  inputShape: [number, number, number],
  folds: boolean[],
  runs: number,
  warmup: number,
): Promise<number[]> {
  const sessions = [];
  for (const foldBatchNorm of folds) {
    sessions.push(await loadOrtModel(await exportOnnx(model, { inputShape, foldBatchNorm })));
  }
  try {
    const x = new Rng(1).uniforms(inputShape[0] * inputShape[1] * inputShape[2], -1, 1);
    const shape = [1, ...inputShape];
    const times: number[][] = sessions.map(() => []);
    for (let i = 0; i < warmup + runs; i++) {
      for (const [k, session] of sessions.entries()) {
        const t0 = performance.now();
        await session.run(x, shape);
        if (i >= warmup) times[k].push(performance.now() - t0);
      }
    }
    return times.map(median);
  } finally {
    for (const session of sessions) await session.release();
  }
}

/**
 * Median batch-1 latency (ms) in onnxruntime-web's wasm backend (one thread)
 * of the exported fcn (depth 10, width 256, MNIST) and ResNet-18 (CIFAR-10),
 * the latter with BatchNorm folded into the convs (the default) and not
 * (runs alternating between the two).
 *
 * @param options runs and warm-up runs per model
 * @returns `onnx_fcn_mnist_b1_ms`, `onnx_resnet18_cifar10_b1_ms`,
 *   `onnx_resnet18_cifar10_b1_unfolded_ms` and `onnx_resnet18_fold_speedup`
 *   (unfolded ÷ folded)
 * @example
 * ```ts ignore
 * import { benchOnnx } from "@agd/onnx-export/bench";
 * console.log(await benchOnnx({ runs: 20 }));
 * ```
 */
export async function benchOnnx(options: BenchOnnxOptions = {}): Promise<Record<string, number>> {
  const runs = options.runs ?? 20;
  const warmup = options.warmup ?? 3;
  const fcn = createModel("fcn", "mnist", { depth: 10, width: 256, backend: cpu() }).eval();
  const resnet = createModel("resnet18", "cifar10", { backend: cpu() }).eval();
  try {
    const [fcnMs] = await latencies(fcn, [1, 28, 28], [true], runs, warmup);
    const [folded, unfolded] = await latencies(resnet, [3, 32, 32], [true, false], runs, warmup);
    return {
      onnx_fcn_mnist_b1_ms: fcnMs,
      onnx_resnet18_cifar10_b1_ms: folded,
      onnx_resnet18_cifar10_b1_unfolded_ms: unfolded,
      onnx_resnet18_fold_speedup: unfolded / folded,
    };
  } finally {
    fcn.dispose();
    resnet.dispose();
  }
}

if (import.meta.main) console.log(await benchOnnx());
