/**
 * TensorFlow.js as a peer, in this process: matmul GFLOP/s and the FCN
 * training step with AGD's update written in tf ops, on its WebGPU backend
 * (the same adapter as ours) and on its WASM backend. When a backend cannot
 * start, the result says exactly why instead of a figure.
 *
 * @module
 */
// The union package, not tfjs-core alone: only its bundle registers the gradients.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import "@tensorflow/tfjs-backend-webgpu";
import { type FcnProblem, linearScale } from "./fcn_problem.ts";
import { timeRepeated, type Timing, type TimingOptions } from "./timing.ts";

/** A TF.js backend name. */
export type TfjsBackend = "webgpu" | "wasm" | "cpu";

/** Why a TF.js backend could not be used, or undefined when it started. */
export async function startTfjs(backend: TfjsBackend): Promise<string | undefined> {
  if (backend === "webgpu" && !("gpu" in navigator)) {
    return "navigator.gpu is undefined (run Deno with --unstable-webgpu)";
  }
  // tf.setBackend reports a failed backend factory with console.warn and
  // returns false; keep the warning's text as the reason.
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    // First lines only: a reason is one table cell, not a stack trace.
    const text = args.map((a) => (a instanceof Error ? a.message : String(a))).join(" ");
    warnings.push(text.split("\n")[0]);
  };
  try {
    const ok = await tf.setBackend(backend);
    await tf.ready();
    if (!ok || tf.getBackend() !== backend) {
      return warnings.join("; ") || `tf.setBackend("${backend}") returned false`;
    }
    return undefined;
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  } finally {
    console.warn = warn;
  }
}

/**
 * GFLOP/s of `tf.matMul` on square float32 matrices of side `size` on the
 * current TF.js backend.
 *
 * @param size matrix side
 * @param options timing options
 * @returns GFLOP/s
 */
export async function tfjsMatmul(size: number, options: TimingOptions = {}): Promise<number> {
  const a = tf.randomNormal([size, size], 0, 1, "float32", 1);
  const b = tf.randomNormal([size, size], 0, 1, "float32", 2);
  let last: tf.Tensor | undefined;
  try {
    const t = await timeRepeated(
      () => {
        last?.dispose();
        last = tf.matMul(a, b);
      },
      async () => void await last!.data(),
      options,
    );
    return (2 * size ** 3) / t.wallMs / 1e6;
  } finally {
    last?.dispose();
    a.dispose();
    b.dispose();
  }
}

/** What {@link tfjsFcnStep} measured. */
export interface TfjsStepResult extends Timing {
  /** Samples per second of wall time. */
  samplesPerSec: number;
  /** η of the first step (from the problem's initial weights and first batch). */
  eta: number;
  /** η of the last step. */
  lastEta: number;
  /** Bytes TF.js reports for its live tensors after the run. */
  tensorBytes: number;
}

/**
 * The FCN step of {@link FcnProblem} in TF.js ops on the current backend:
 * forward (x·Wᵀ, relu·√2), the SPEC's square loss, gradients by
 * `tf.variableGrads`, and AGD's update (packages/agd/optimizer.ts):
 * G = (1/L) Σ s_k ‖∇W_k‖_F, η = log((1 + √(1 + 4G)) / 2),
 * W_k ← W_k − (η/L) · (s_k / ‖∇W_k‖_F) · ∇W_k, with divNoNan as nan_to_num
 * (a zero gradient gives a zero update either way).
 *
 * @param problem weights and batches
 * @param options timing options
 * @returns timing, samples/s and the first step's η
 */
export async function tfjsFcnStep(
  problem: FcnProblem,
  options: TimingOptions = {},
): Promise<TfjsStepResult> {
  const depth = problem.shapes.length;
  const vars = problem.weights.map((w, k) =>
    tf.variable(tf.tensor2d(w, problem.shapes[k]), true, `fcn_w${k}_${crypto.randomUUID()}`)
  );
  const scales = problem.shapes.map(linearScale);
  const classes = problem.classes;
  const forward = (x: tf.Tensor2D): tf.Tensor => {
    let h: tf.Tensor = tf.matMul(x, vars[0], false, true);
    for (let k = 1; k < depth; k++) {
      h = tf.matMul(tf.mul(tf.relu(h), Math.SQRT2) as tf.Tensor2D, vars[k], false, true);
    }
    return h;
  };
  const step = (x: tf.Tensor2D, y: tf.Tensor1D): tf.Scalar =>
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => {
        const target = tf.mul(tf.oneHot(y, classes), Math.sqrt(classes));
        return tf.mean(tf.square(tf.sub(forward(x), target))) as tf.Scalar;
      }, vars);
      const g = vars.map((v) => grads[v.name]);
      const norms = g.map((gk) => tf.norm(gk));
      // A chain of adds, not tf.addN: on TF.js's WebGPU backend (4.22) addN of
      // 8 or more tensors binds one storage buffer per input plus the output,
      // over the 8 per shader stage of the device it requests; the dispatch
      // fails validation silently and the output holds stale data (η was 0).
      const G = tf.div(
        norms.map((n, k) => tf.mul(n, scales[k])).reduce((a, b) => tf.add(a, b)),
        depth,
      );
      const eta = tf.log(tf.div(tf.add(tf.sqrt(tf.add(tf.mul(G, 4), 1)), 1), 2)) as tf.Scalar;
      vars.forEach((v, k) => {
        const factor = tf.divNoNan(tf.mul(eta, scales[k] / depth), norms[k]);
        v.assign(tf.sub(v, tf.mul(factor, g[k])));
      });
      return eta;
    });
  let next = 0;
  let eta: tf.Scalar | undefined;
  const issue = () => {
    const b = problem.batches[next++ % problem.batches.length];
    const x = tf.tensor2d(b.x, [problem.batch, problem.inputSize]);
    const y = tf.tensor1d(b.y, "int32");
    const previous = eta;
    eta = step(x, y);
    x.dispose();
    y.dispose();
    previous?.dispose();
  };
  // η is read at each wait; the first wait follows the first step alone. (Reading
  // a kept η later instead returns 0 on TF.js's WebGPU backend.)
  const etas: number[] = [];
  try {
    const timing = await timeRepeated(issue, async () => {
      etas.push((await eta!.data())[0]);
    }, options);
    return {
      ...timing,
      samplesPerSec: (problem.batch * 1000) / timing.wallMs,
      eta: etas[0],
      lastEta: etas.at(-1)!,
      tensorBytes: tf.memory().numBytes,
    };
  } finally {
    eta?.dispose();
    vars.forEach((v) => v.dispose());
  }
}
