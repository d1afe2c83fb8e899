/**
 * Reference batch norm over x [N, C, ...]: per-channel statistics over every
 * axis but 1, the normalisation, its gradient and the running statistics.
 * Element (n, c, s) of x, with S the product of the trailing dims, is at
 * (n·C + c)·S + s. Sums accumulate in float64.
 *
 * @module
 */
import { sizeOf } from "../../shape.ts";
import type { CpuInput, CpuKernel, CpuOutput } from "../../backend/cpu/kernel.ts";
import type { NormAttrs } from "./primitives.ts";

/** N, C and S (the trailing size) of x [N, C, ...]. */
function dimsOf(x: CpuInput): [number, number, number] {
  return [x.shape[0], x.shape[1], sizeOf(x.shape.slice(2))];
}

/** Calls `f(i)` for the flat index of every element of channel `c`. */
function eachOf(n: number, c: number, s: number, ch: number, f: (i: number) => void): void {
  for (let b = 0; b < n; b++) {
    const base = (b * c + ch) * s;
    for (let k = 0; k < s; k++) f(base + k);
  }
}

/** Per-channel mean (row 0) and biased variance (row 1), two-pass. */
export function bnStats([x]: CpuInput[], _attrs: unknown, out: CpuOutput): void {
  const [n, c, s] = dimsOf(x);
  const count = n * s;
  for (let ch = 0; ch < c; ch++) {
    let sum = 0;
    eachOf(n, c, s, ch, (i) => (sum += x.data[i]));
    const mean = sum / count;
    let m2 = 0;
    eachOf(n, c, s, ch, (i) => (m2 += (x.data[i] - mean) ** 2));
    out.data[ch] = mean;
    out.data[c + ch] = m2 / count;
  }
}

/** (x − mean)/√(var + eps) per channel. */
export function batchNorm(
  [x, stats]: CpuInput[],
  attrs: NormAttrs["batch_norm"],
  out: CpuOutput,
): void {
  const [n, c, s] = dimsOf(x);
  for (let ch = 0; ch < c; ch++) {
    const mean = stats.data[ch];
    const sd = Math.sqrt(stats.data[c + ch] + attrs.eps);
    eachOf(n, c, s, ch, (i) => (out.data[i] = (x.data[i] - mean) / sd));
  }
}

/** (dy − Σdy/M − x̂·Σ(dy·x̂)/M)/√(var + eps) per channel. */
export function batchNormGrad(
  [dy, x, stats]: CpuInput[],
  attrs: NormAttrs["batch_norm_grad"],
  out: CpuOutput,
): void {
  const [n, c, s] = dimsOf(x);
  const count = n * s;
  for (let ch = 0; ch < c; ch++) {
    const mean = stats.data[ch];
    const sd = Math.sqrt(stats.data[c + ch] + attrs.eps);
    let sumDy = 0;
    let sumDyXhat = 0;
    eachOf(n, c, s, ch, (i) => {
      sumDy += dy.data[i];
      sumDyXhat += dy.data[i] * (x.data[i] - mean) / sd;
    });
    eachOf(n, c, s, ch, (i) => {
      const xhat = (x.data[i] - mean) / sd;
      out.data[i] = (dy.data[i] - sumDy / count - xhat * sumDyXhat / count) / sd;
    });
  }
}

/** (1 − momentum)·running + momentum·correction·stats[row]. */
export function bnRunning(
  [running, stats]: CpuInput[],
  attrs: NormAttrs["bn_running"],
  out: CpuOutput,
): void {
  const c = running.data.length;
  const { row, momentum, correction } = attrs;
  for (let ch = 0; ch < c; ch++) {
    out.data[ch] = (1 - momentum) * running.data[ch] +
      momentum * correction * stats.data[row * c + ch];
  }
}

/** The CPU reference of each batch-norm primitive. */
export const NORM_CPU: { [P in keyof NormAttrs]: CpuKernel<NormAttrs[P]> } = {
  bn_stats: bnStats,
  batch_norm: batchNorm,
  batch_norm_grad: batchNormGrad,
  bn_running: bnRunning,
};
