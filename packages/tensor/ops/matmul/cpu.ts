/**
 * CPU reference kernel of matmul: the triple loop, in float64.
 *
 * @module
 */
import type { CpuInput, CpuKernel, CpuOutput } from "../../backend/cpu/kernel.ts";
import type { MatmulAttrs } from "./primitives.ts";

/**
 * out[M,N] = op(a)·op(b). Without transposes a is [M,K] and b is [K,N];
 * `transA` reads a stored as [K,M] and `transB` reads b stored as [N,K].
 */
function matmul([a, b]: CpuInput[], attrs: MatmulAttrs["matmul"], out: CpuOutput): void {
  const [m, n] = out.shape;
  const k = attrs.transA ? a.shape[0] : a.shape[1];
  const aAt = attrs.transA
    ? (i: number, p: number) => a.data[p * m + i]
    : (i: number, p: number) => a.data[i * k + p];
  const bAt = attrs.transB
    ? (p: number, j: number) => b.data[j * k + p]
    : (p: number, j: number) => b.data[p * n + j];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc += aAt(i, p) * bAt(p, j);
      out.data[i * n + j] = acc;
    }
  }
}

/** The CPU reference of matmul. */
export const MATMUL_CPU: { [P in keyof MatmulAttrs]: CpuKernel<MatmulAttrs[P]> } = { matmul };
