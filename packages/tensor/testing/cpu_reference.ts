/**
 * Helpers of the CPU reference tests (`ops/<family>/cpu_test.ts`): inputs
 * from numbers, one op call through its shape rule and CPU kernel as the
 * backend makes it, deterministic random data, central finite differences,
 * and PyTorch's golden values of the ops (`tests/fixtures/ops.safetensors`).
 *
 * @module
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import type { OpAttrs, OpName } from "../ops/op_name.ts";
import { type DType, type Shape, sizeOf } from "../shape.ts";
import type { TypedArray } from "../backend/backend.ts";
import type { CpuInput } from "../backend/cpu/kernel.ts";
import { opDefinition } from "../ops/registry.ts";
import { loadFixture } from "./fixtures.ts";

/**
 * A float32 input from numbers.
 *
 * @param data the values, `sizeOf(shape)` of them
 * @param shape the shape
 * @returns the input
 */
export function f(data: number[] | Float32Array, shape: Shape): CpuInput {
  assertEquals(data.length, sizeOf(shape));
  return { data: Float32Array.from(data), shape, dtype: "float32" };
}

/**
 * Runs op `op` through its shape rule and its CPU kernel, like the backend does.
 *
 * @param op the op
 * @param inputs its inputs
 * @param attrs its attributes
 * @returns the output's data, shape and dtype
 *
 * @example
 * ```ts
 * import { f, run } from "./cpu_reference.ts";
 * const y = run("relu", [f([-1, 2], [2])], {});
 * if (y.data[0] !== 0 || y.data[1] !== 2) throw new Error("relu");
 * ```
 */
export function run<P extends OpName>(
  op: P,
  inputs: CpuInput[],
  attrs: OpAttrs[P],
): { data: TypedArray; shape: number[]; dtype: DType } {
  const spec = opDefinition(op).shape(
    inputs.map((x) => x.shape),
    inputs.map((x) => x.dtype),
    attrs,
  );
  const size = sizeOf(spec.shape);
  const data = spec.dtype === "int32" ? new Int32Array(size) : new Float32Array(size);
  opDefinition(op).cpu(inputs, attrs, { data, shape: spec.shape });
  return { data, shape: spec.shape, dtype: spec.dtype };
}

/**
 * Deterministic pseudo-random values in [-1, 1) (a small LCG).
 *
 * @param n how many
 * @param seed the LCG's seed
 * @returns the values
 */
export function rand(n: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/**
 * The central finite-difference gradient of L(x) = sum(forward(x) · dy) with
 * respect to x, computed in float64 from the float32 forward kernel.
 *
 * @param forward the forward kernel as a function of x
 * @param x the point
 * @param dy the output gradient
 * @param eps the step
 * @returns ∂L/∂x
 */
export function numericGrad(
  forward: (x: Float32Array) => ArrayLike<number>,
  x: Float32Array,
  dy: ArrayLike<number>,
  eps = 1e-2,
): Float64Array {
  const loss = (v: Float32Array) => {
    const y = forward(v);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i] * dy[i];
    return s;
  };
  const grad = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x.slice();
    v[i] = x[i] + eps;
    const up = loss(v);
    v[i] = x[i] - eps;
    grad[i] = (up - loss(v)) / (2 * eps);
  }
  return grad;
}

/**
 * PyTorch's golden values for the ops (tests/fixtures/ops.safetensors), as a
 * lookup of one part (`in0`, `out`, `grad_in0`…) of one case.
 *
 * @returns the lookup: `fixture(name, part)` is the float32 input `name.part`
 */
export async function loadOpsFixture(): Promise<(name: string, part: string) => CpuInput> {
  const ops = await loadFixture("ops.safetensors");
  return (name, part) => {
    const key = `${name}.${part}`;
    return { data: ops.f32(key), shape: ops.shape(key), dtype: "float32" };
  };
}
