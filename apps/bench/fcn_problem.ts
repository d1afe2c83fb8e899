/**
 * The FCN training step every framework in the bench times: the same
 * AGD-initialised weights and the same batches, so that the first step's η
 * must agree between frameworks (a check that they compute the same step)
 * and the times compare like with like.
 *
 * @module
 */
import { agdInit } from "@agd/agd";
import { createModel, DATASET_SHAPES } from "@agd/models";
import { cpu } from "@agd/tensor";
import { syntheticBatches } from "./training.ts";

/** Size of the FCN and of its batches. */
export interface FcnSize {
  /** Linear layers (≥ 2). */
  depth: number;
  /** Hidden width. */
  width: number;
  /** Dataset whose input shape and classes the FCN takes. */
  dataset: string;
  /** Samples per step. */
  batch: number;
}

/** An FCN's weights and batches as host arrays, ready for any framework. */
export interface FcnProblem extends FcnSize {
  /** e.g. `fcn d8 w256 mnist b128`. */
  name: string;
  /** Flattened input size (C·H·W). */
  inputSize: number;
  /** Number of classes. */
  classes: number;
  /** [d_out, d_in] of each Linear weight, first to last. */
  shapes: [number, number][];
  /** Row-major weights after AGD's init with seed 0 (as `agdInit` on a new model). */
  weights: Float32Array[];
  /** Batches of inputs [batch, inputSize] and int32 labels [batch]. */
  batches: { x: Float32Array; y: Int32Array }[];
}

/**
 * Builds the problem on the CPU backend: our model, AGD's init, weights read back.
 *
 * @param size depth, width, dataset and batch
 * @returns weights, shapes and synthetic batches
 * @example
 * ```ts
 * import { fcnProblem } from "./fcn_problem.ts";
 * const p = await fcnProblem({ depth: 3, width: 8, dataset: "mnist", batch: 2 });
 * console.log(p.shapes); // [[8, 784], [8, 8], [10, 8]]
 * ```
 */
export async function fcnProblem(size: FcnSize): Promise<FcnProblem> {
  const { input, classes } = DATASET_SHAPES[size.dataset];
  const model = createModel("fcn", size.dataset, {
    depth: size.depth,
    width: size.width,
    backend: cpu(),
  });
  try {
    const params = model.parameters();
    agdInit(params, { seed: 0 });
    const weights: Float32Array[] = [];
    for (const p of params) weights.push((await p.value.data()) as Float32Array);
    return {
      ...size,
      name: `fcn d${size.depth} w${size.width} ${size.dataset} b${size.batch}`,
      inputSize: input[0] * input[1] * input[2],
      classes,
      shapes: params.map((p) => [p.value.shape[0], p.value.shape[1]]),
      weights,
      batches: syntheticBatches(size.dataset, size.batch).map(({ x, y }) => ({ x, y })),
    };
  } finally {
    model.dispose();
  }
}

/** AGD's per-layer scale s = √(d_out / d_in) of a Linear weight (SPEC "The optimizer"). */
export function linearScale([dOut, dIn]: [number, number]): number {
  return Math.sqrt(dOut / dIn);
}
