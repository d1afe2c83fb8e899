/**
 * onnxruntime-web (wasm execution provider, one thread) inside Deno: what the
 * tests and the benchmark run exported models with.
 *
 * @module
 */
import * as ort from "onnxruntime-web";

let configured = false;

function configure(): void {
  if (configured) return;
  configured = true;
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = "error";
}

/** A loaded model: run it on a float32 NCHW batch. */
export interface OrtModel {
  /**
   * Runs the model.
   *
   * @param input float32 values of shape `shape`
   * @param shape [batch, C, H, W]
   * @returns the `logits` output's values ([batch, classes], row-major)
   */
  run(input: Float32Array, shape: readonly number[]): Promise<Float32Array>;
  /** Frees the session. */
  release(): Promise<void>;
}

/**
 * Creates an onnxruntime-web session (wasm, numThreads 1) for an exported model.
 *
 * @param bytes the .onnx file's contents
 * @returns a runner for `input` → `logits`
 * @example
 * ```ts ignore
 * import { loadOrtModel } from "./ort.ts";
 * const model = await loadOrtModel(await Deno.readFile("model.onnx"));
 * const logits = await model.run(new Float32Array(784), [1, 1, 28, 28]);
 * await model.release();
 * ```
 */
export async function loadOrtModel(bytes: Uint8Array): Promise<OrtModel> {
  configure();
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ["wasm"],
    graphOptimizationLevel: "all",
  });
  return {
    async run(input: Float32Array, shape: readonly number[]): Promise<Float32Array> {
      const feeds = { input: new ort.Tensor("float32", input, [...shape]) };
      const out = await session.run(feeds);
      const logits = out.logits;
      const values = logits.data as Float32Array;
      const copy = values.slice();
      logits.dispose();
      return copy;
    },
    release: (): Promise<void> => session.release(),
  };
}
