/**
 * The matmul family's wasm kernel: the SIMD GEMM of `matmul.c`, spread over
 * the threads (also the GEMM step of convolution's input gradient).
 *
 * @module
 */
import type { WasmEntry, WasmRuntime } from "../../backend/wasm/kernel.ts";
import type { MatmulAttrs } from "./primitives.ts";

/** Below this many multiply-adds a GEMM runs on one thread (waking the others costs more). */
export const PARALLEL_MACS = 1 << 18;

/** One GEMM: C (+)= op(A)·op(B), as byte offsets and sizes. */
export interface Gemm {
  /** A: m×k, or stored k×m with `transA`. */
  a: number;
  /** B: k×n, or stored n×k with `transB`. */
  b: number;
  /** C: m×n. */
  c: number;
  /** Rows of C. */
  m: number;
  /** Columns of C. */
  n: number;
  /** The inner size. */
  k: number;
  /** A is stored transposed. */
  transA?: boolean;
  /** B is stored transposed. */
  transB?: boolean;
  /** Add into C instead of overwriting it. */
  accumulate?: boolean;
}

/**
 * Runs one GEMM on `matmul.c`'s kernel, on every thread when it is large.
 *
 * @param rt the wasm runtime
 * @param g the operands and sizes
 */
export function gemm(rt: WasmRuntime, g: Gemm): void {
  const { a, b, c, m, n, k } = g;
  const args = [a, b, c, m, n, k, +!!g.transA, +!!g.transB, +!!g.accumulate];
  rt.tasks("matmul", args, m * n * k >= PARALLEL_MACS);
}

/** The wasm entry of each matmul primitive. */
export const MATMUL_WASM: { [P in keyof MatmulAttrs]: WasmEntry<MatmulAttrs[P]> } = {
  matmul: (rt, [a, b], { transA, transB }, out) => {
    const [m, n] = out.shape;
    const k = transA ? a.shape[0] : a.shape[1];
    gemm(rt, { a: a.storage.ptr, b: b.storage.ptr, c: out.ptr, m, n, k, transA, transB });
  },
};
