/**
 * Semi-orthogonal sampling as torch.nn.init.orthogonal_: QR of a Gaussian
 * matrix with R's diagonal made positive. Modified Gram–Schmidt, applied twice
 * for stability ("twice is enough"), yields exactly that Q, since Gram–Schmidt's
 * R has a positive diagonal by construction.
 *
 * @module
 */
import type { Rng } from "@agd/tensor";

/**
 * A `rows × cols` matrix (row-major, float32) with orthonormal rows if
 * rows ≤ cols, else orthonormal columns, drawn from the Haar measure.
 *
 * @example
 * ```ts
 * import { Rng } from "@agd/tensor";
 * import { orthogonal } from "./orthogonal.ts";
 * const q = orthogonal(2, 3, new Rng(0)); // rows are orthonormal
 * const dot = q[0] * q[3] + q[1] * q[4] + q[2] * q[5];
 * console.log(Math.abs(dot) < 1e-6); // true
 * ```
 */
export function orthogonal(rows: number, cols: number, rng: Rng): Float32Array {
  // Orthonormalise the columns of a tall n×k matrix (n ≥ k), as torch does after transposing a wide one.
  const tall = rows >= cols;
  const [n, k] = tall ? [rows, cols] : [cols, rows];
  const g = new Float64Array(n * k); // column-major: column j at g[j*n ... j*n+n)
  const a = new Float64Array(rows * cols);
  for (let i = 0; i < a.length; i++) a[i] = rng.normal();
  // torch draws the rows×cols matrix row-major; as a tall matrix A (or Aᵀ) its column j is:
  for (let j = 0; j < k; j++) {
    for (let i = 0; i < n; i++) g[j * n + i] = tall ? a[i * cols + j] : a[j * cols + i];
  }
  for (let j = 0; j < k; j++) {
    const cj = g.subarray(j * n, (j + 1) * n);
    for (let pass = 0; pass < 2; pass++) {
      for (let p = 0; p < j; p++) {
        const cp = g.subarray(p * n, (p + 1) * n);
        let dot = 0;
        for (let i = 0; i < n; i++) dot += cp[i] * cj[i];
        for (let i = 0; i < n; i++) cj[i] -= dot * cp[i];
      }
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += cj[i] * cj[i];
    norm = Math.sqrt(norm);
    for (let i = 0; i < n; i++) cj[i] /= norm;
  }
  const out = new Float32Array(rows * cols);
  for (let j = 0; j < k; j++) {
    for (let i = 0; i < n; i++) {
      if (tall) out[i * cols + j] = g[j * n + i];
      else out[j * cols + i] = g[j * n + i];
    }
  }
  return out;
}
