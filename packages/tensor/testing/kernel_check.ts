/**
 * One kernel call against the CPU reference, on any backend: the helpers
 * behind the op tests (`backend/ops_test.ts`, every fast backend) and the
 * WebGPU variant tests (`ops/matmul/gpu_test.ts`, `ops/conv/gpu_test.ts`).
 *
 * @module
 */
import assert from "node:assert/strict";
import type { OpAttrs, OpName } from "../ops/op_name.ts";
import { type DType, type Shape, sizeOf } from "../shape.ts";
import { Rng } from "../random.ts";
import type { Backend, TypedArray } from "../backend/backend.ts";
import { assertClose, type Tolerance } from "./assert.ts";
import { opDefinition, OPS } from "../ops/registry.ts";

/** A kernel input on the host: data and shape (the dtype is the data's: Int32Array is int32). */
export interface HostInput {
  /** The values. */
  data: TypedArray;
  /** The shape. */
  shape: Shape;
}

/** Random kernel inputs, each from the next seed of its own stream. */
export class RandomInputs {
  #seed: number;

  /** @param seed the first seed */
  constructor(seed = 1) {
    this.#seed = seed;
  }

  /**
   * Standard normal values.
   *
   * @param shape the input's shape
   * @returns the input
   */
  randn(shape: Shape): HostInput {
    return { data: new Rng(this.#seed++).normals(sizeOf(shape)), shape };
  }

  /**
   * Small integers as floats, so that ties and equalities happen.
   *
   * @param shape the input's shape
   * @param low the smallest value
   * @param high one past the largest
   * @returns the input
   */
  randint(shape: Shape, low: number, high: number): HostInput {
    const rng = new Rng(this.#seed++);
    const data = new Float32Array(sizeOf(shape));
    for (let i = 0; i < data.length; i++) data[i] = low + rng.int(high - low);
    return { data, shape };
  }
}

function dtypeOf(data: TypedArray): DType {
  return data instanceof Int32Array ? "int32" : "float32";
}

/**
 * Runs `op` on `backend` and on the CPU reference and compares the outputs:
 * equal for int32, within `tol` (default atol 1e-5, rtol 1e-4) for float32.
 *
 * @param backend the backend under test
 * @param op the op
 * @param inputs its inputs
 * @param attrs its attributes
 * @param tol the float tolerance
 */
export async function checkKernel<S, P extends OpName>(
  backend: Backend<S>,
  op: P,
  inputs: HostInput[],
  attrs: OpAttrs[P],
  tol: Tolerance = {},
): Promise<void> {
  const dtypes = inputs.map((i) => dtypeOf(i.data));
  const spec = opDefinition(op).shape(inputs.map((i) => i.shape), dtypes, attrs);
  const size = sizeOf(spec.shape);
  const expected = spec.dtype === "int32" ? new Int32Array(size) : new Float32Array(size);
  opDefinition(op).cpu(
    inputs.map((i, k) => ({ data: i.data, shape: i.shape, dtype: dtypes[k] })),
    attrs,
    { data: expected, shape: spec.shape },
  );
  const storages = inputs.map((i) => backend.upload(i.data));
  const out = backend.run(
    opDefinition(op),
    storages.map((s, k) => ({ storage: s, shape: inputs[k].shape, dtype: dtypes[k] })),
    attrs,
    spec,
  );
  const actual = await backend.read(out, spec.dtype, size);
  for (const s of [...storages, out]) backend.release(s);
  const label = `${op} ${inputs.map((i) => `[${i.shape}]`).join(" ")} ${JSON.stringify(attrs)}`;
  assert.equal(actual.constructor, expected.constructor, label);
  if (spec.dtype === "int32") {
    assert.deepEqual(Array.from(actual), Array.from(expected), label);
  } else {
    assertClose(actual, expected, { atol: 1e-5, rtol: 1e-4, ...tol, label });
  }
}

/** An op call of a case list: what {@link checkKernel} takes after the backend. */
export interface KernelCase<P extends OpName = OpName> {
  /** The op. */
  op: P;
  /** Its inputs. */
  inputs: HostInput[];
  /** Its attributes. */
  attrs: OpAttrs[P];
}

/**
 * matmul on each `[m, k, n]` in all four layouts (A and B each as stored or
 * transposed), with inputs from `randn`.
 *
 * @param randn makes a random input of a shape
 * @param sizes the products' sizes
 * @returns the calls
 */
export function matmulCases(
  randn: (shape: Shape) => HostInput,
  sizes: readonly (readonly [number, number, number])[],
): KernelCase<"matmul">[] {
  return sizes.flatMap(([m, k, n]) =>
    [false, true].flatMap((transA) =>
      [false, true].map((transB) => ({
        op: "matmul" as const,
        inputs: [randn(transA ? [k, m] : [m, k]), randn(transB ? [n, k] : [k, n])],
        attrs: { transA, transB },
      }))
    )
  );
}

/** A convolution case: input shape, weight shape, stride, padding. */
export type ConvCase = readonly [Shape, Shape, [number, number], [number, number]];

/**
 * Convolutions every backend is checked on: 1×1 (strided and not), 3×3, 7×7,
 * non-square kernels, strides that differ per axis, asymmetric padding and
 * padding wider than the kernel's reach, output channels off every tile.
 */
export const CONV_CASES: readonly ConvCase[] = [
  [[2, 3, 9, 11], [4, 3, 3, 3], [1, 1], [1, 1]],
  [[2, 3, 16, 16], [5, 3, 7, 7], [2, 2], [3, 3]],
  [[2, 6, 7, 9], [8, 6, 1, 1], [2, 2], [0, 0]],
  [[2, 6, 7, 9], [8, 6, 1, 1], [1, 1], [0, 0]],
  [[1, 4, 9, 9], [3, 4, 3, 3], [2, 2], [0, 0]],
  [[2, 3, 8, 10], [4, 3, 3, 2], [1, 2], [2, 0]],
  [[2, 16, 8, 8], [70, 16, 3, 3], [1, 1], [1, 1]],
  [[1, 2, 4, 5], [3, 2, 3, 3], [1, 1], [3, 3]],
  [[2, 2, 5, 4], [3, 2, 2, 3], [3, 2], [4, 3]],
  // Output rows a multiple of 4 wide (the wasm implicit GEMM's vector path):
  // images that end mid-strip, and rows and lanes in wide padding.
  [[3, 3, 3, 4], [5, 3, 3, 3], [1, 1], [1, 1]],
  [[2, 2, 3, 6], [3, 2, 3, 3], [1, 1], [2, 2]],
  // 16 channels at stride 1 (the wasm input gradient as a forward
  // convolution of dY): a non-square kernel, padding on one axis only.
  [[2, 16, 5, 7], [6, 16, 3, 2], [1, 1], [2, 0]],
];

/** A pooling case: input shape, kernel, stride, padding. */
export type PoolCase = readonly [Shape, [number, number], [number, number], [number, number]];

/**
 * Pools every backend is checked on: overlapping windows with padding,
 * VGG's 2×2, stride 1, and a non-square kernel with strides and padding that
 * differ per axis.
 */
export const POOL_CASES: readonly PoolCase[] = [
  [[2, 3, 9, 10], [3, 3], [2, 2], [1, 1]],
  [[2, 3, 8, 8], [2, 2], [2, 2], [0, 0]],
  [[1, 2, 7, 6], [3, 3], [1, 1], [1, 1]],
  [[1, 2, 7, 9], [3, 2], [2, 1], [1, 0]],
];

/**
 * conv2d and both its gradients for each case, with inputs from `randn`.
 *
 * @param randn makes a random input of a shape
 * @param cases the convolutions
 * @returns the calls, three per case
 */
export function convCases(
  randn: (shape: Shape) => HostInput,
  cases: readonly ConvCase[],
): KernelCase<"conv2d" | "conv2d_grad_input" | "conv2d_grad_weight">[] {
  return cases.flatMap(([xs, ws, stride, padding]) => {
    const x = randn(xs);
    const w = randn(ws);
    const dy = randn(
      OPS.conv2d.shape([xs, ws], ["float32", "float32"], { stride, padding }).shape,
    );
    const inputHW: [number, number] = [xs[2], xs[3]];
    const kernel: [number, number] = [ws[2], ws[3]];
    return [
      { op: "conv2d" as const, inputs: [x, w], attrs: { stride, padding } },
      { op: "conv2d_grad_input" as const, inputs: [dy, w], attrs: { stride, padding, inputHW } },
      { op: "conv2d_grad_weight" as const, inputs: [x, dy], attrs: { stride, padding, kernel } },
    ];
  });
}
