// Test helpers: CPU-reference models with non-trivial BatchNorm statistics, the
// onnxruntime-web comparison, and Debian's onnx checker.
import { createModel, type Module } from "@agd/models";
import { cpu, noGrad, Rng, tensor } from "@agd/tensor";
import { exportOnnx } from "./export.ts";
import { loadOrtModel } from "./ort.ts";

/** Whether /usr/bin/python3 can import onnx (Debian's python3-onnx). */
export const HAS_PYTHON_ONNX: boolean = (() => {
  try {
    return new Deno.Command("/usr/bin/python3", {
      args: ["-c", "import onnx"],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
})();

/** Runs onnx.checker.check_model(full_check=True) on the bytes; throws its message on failure. */
export async function checkWithPythonOnnx(bytes: Uint8Array): Promise<void> {
  const path = await Deno.makeTempFile({ suffix: ".onnx" });
  try {
    await Deno.writeFile(path, bytes);
    const out = await new Deno.Command("/usr/bin/python3", {
      args: [
        "-c",
        "import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)",
        path,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`onnx.checker rejected the model: ${new TextDecoder().decode(out.stderr)}`);
    }
  } finally {
    await Deno.remove(path);
  }
}

/** Sets every BatchNorm's running statistics to seeded random values (mean ±0.3, var 0.5…2). */
export function randomizeBatchNorm(model: Module, seed: number): void {
  const rng = new Rng(seed);
  for (const b of model.buffers()) {
    const n = b.value.size;
    const isVar = b.name.endsWith("running_var");
    const values = isVar ? rng.uniforms(n, 0.5, 2) : rng.uniforms(n, -0.3, 0.3);
    b.value.dispose();
    b.value = tensor(values, { shape: [n], backend: cpu() });
  }
}

/** Seeded uniform [-1, 1) input of `shape`. */
export function randomInput(shape: number[], seed: number): Float32Array {
  return new Rng(seed).uniforms(shape.reduce((a, b) => a * b, 1), -1, 1);
}

/** max|a − b| / max|b|: the error relative to the reference's scale. */
export function relativeError(actual: Float32Array, expected: Float32Array): number {
  if (actual.length !== expected.length) {
    throw new Error(`length ${actual.length} ≠ ${expected.length}`);
  }
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    if (!Number.isFinite(actual[i])) return Infinity;
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / Math.max(scale, 1e-30);
}

/** The project's own evaluation-mode forward on the CPU reference backend. */
export async function referenceForward(
  model: Module,
  input: Float32Array,
  shape: number[],
): Promise<Float32Array> {
  const x = tensor(input, { shape, backend: cpu() });
  const y = noGrad(() => model.forward(x));
  const out = (await y.data()) as Float32Array;
  x.dispose();
  y.dispose();
  return out;
}

/** One architecture's parity run. */
export interface ParityCase {
  arch: string;
  dataset: string;
  inputShape: [number, number, number];
  depth?: number;
  width?: number;
  /** Run a train-mode forward on 2 random images before randomizing (cheap models only). */
  trainForward?: boolean;
  /** Compare batch 1 with row 0 of the reference batch-3 forward (saves a slow forward). */
  batch1FromBatch3?: boolean;
}

/** Errors of one architecture: folded and unfolded exports, batch 1 and 3. */
export interface ParityResult {
  /** Max relative error over both batches, BN folded. */
  folded: number;
  /** Max relative error over both batches, BN not folded. */
  unfolded: number;
  /** Max relative error between the folded and unfolded ONNX outputs. */
  foldVsUnfolded: number;
  /** Number of logits compared per export. */
  compared: number;
  /** The exported models: BN folded, then not. */
  exports: [Uint8Array, Uint8Array];
}

/**
 * Builds `arch` on the CPU backend with non-trivial BN statistics, exports it
 * with and without BN folding, runs both in onnxruntime-web at batch 1 and 3
 * and compares with the model's own eval forward.
 */
export async function parity(c: ParityCase): Promise<ParityResult> {
  const model = createModel(c.arch, c.dataset, {
    depth: c.depth,
    width: c.width,
    seed: 7,
    backend: cpu(),
  });
  try {
    if (c.trainForward) {
      model.train();
      const x = randomInput([2, ...c.inputShape], 11);
      (await referenceForward(model, x, [2, ...c.inputShape])).length;
    }
    randomizeBatchNorm(model, 13);
    model.eval();
    const x3 = randomInput([3, ...c.inputShape], 17);
    const x1 = randomInput([1, ...c.inputShape], 19);
    const ref3 = await referenceForward(model, x3, [3, ...c.inputShape]);
    const classes = ref3.length / 3;
    const ref1 = c.batch1FromBatch3
      ? ref3.slice(0, classes)
      : await referenceForward(model, x1, [1, ...c.inputShape]);
    const in1 = c.batch1FromBatch3 ? x3.slice(0, x3.length / 3) : x1;
    const base = { inputShape: c.inputShape, arch: c.arch, dataset: c.dataset };
    const outputs: Float32Array[] = [];
    const errors: number[] = [];
    const exports: Uint8Array[] = [];
    for (const foldBatchNorm of [true, false]) {
      const bytes = await exportOnnx(model, { ...base, foldBatchNorm });
      exports.push(bytes);
      const ort = await loadOrtModel(bytes);
      const y3 = await ort.run(x3, [3, ...c.inputShape]);
      const y1 = await ort.run(in1, [1, ...c.inputShape]);
      await ort.release();
      errors.push(Math.max(relativeError(y3, ref3), relativeError(y1, ref1)));
      outputs.push(y3);
    }
    return {
      folded: errors[0],
      unfolded: errors[1],
      foldVsUnfolded: relativeError(outputs[0], outputs[1]),
      compared: ref3.length + ref1.length,
      exports: [exports[0], exports[1]],
    };
  } finally {
    model.dispose();
  }
}

/**
 * Registers the parity test of one architecture: onnxruntime-web within 1e-4
 * relative of the eval forward (BN folded and not), then, as a step ignored
 * where python3-onnx is missing, onnx.checker.check_model(full_check=True) on
 * the exports (`checkUnfolded`: the unfolded one too).
 */
export function parityTest(name: string, c: ParityCase, checkUnfolded = true): void {
  Deno.test(`onnxruntime-web matches the eval forward: ${name}`, async (t) => {
    const r = await parity(c);
    console.log(
      `${name}: max relative error BN folded ${r.folded.toExponential(2)}, unfolded ${
        r.unfolded.toExponential(2)
      } (${r.compared} logits at batch 3 and 1)`,
    );
    if (r.folded > 1e-4) throw new Error(`the BN-folded export is off by ${r.folded} relative`);
    if (r.unfolded > 1e-4) throw new Error(`the unfolded export is off by ${r.unfolded} relative`);
    await t.step({
      name: `onnx.checker.check_model(full_check=True) accepts it${
        checkUnfolded ? " (BN folded and not)" : ""
      }`,
      ignore: !HAS_PYTHON_ONNX,
      async fn() {
        await checkWithPythonOnnx(r.exports[0]);
        if (checkUnfolded) await checkWithPythonOnnx(r.exports[1]);
      },
    });
  });
}
