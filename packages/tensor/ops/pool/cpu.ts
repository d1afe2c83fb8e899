/**
 * Reference 2-D max and average pooling (NCHW) and their gradients.
 *
 * Output cell (oy, ox) of a window op covers input rows
 * `oy·sh − ph + ky` for ky in [0, kh) and columns `ox·sw − pw + kx` for kx in
 * [0, kw); cells outside the input are padding: -inf for max (never chosen),
 * zero for average (still counted: the divisor is always kh·kw, torch's
 * count_include_pad=True).
 *
 * @module
 */
import type { CpuInput, CpuKernel, CpuOutput } from "../../backend/cpu/kernel.ts";
import type { PoolAttrs, PoolOpAttrs } from "./primitives.ts";
import { isGreater } from "../../backend/cpu/indexing.ts";

/**
 * The flat index (within one [H, W] plane starting at `base`) of the FIRST
 * maximum of window (oy, ox), scanning ky outer, kx inner with a strict
 * comparison, like PyTorch; -1 if the window holds no input cell.
 */
function firstMax(
  data: ArrayLike<number>,
  base: number,
  h: number,
  w: number,
  oy: number,
  ox: number,
  a: PoolAttrs,
): number {
  let best = -1;
  for (let ky = 0; ky < a.kernel[0]; ky++) {
    const iy = oy * a.stride[0] - a.padding[0] + ky;
    if (iy < 0 || iy >= h) continue;
    for (let kx = 0; kx < a.kernel[1]; kx++) {
      const ix = ox * a.stride[1] - a.padding[1] + kx;
      if (ix < 0 || ix >= w) continue;
      const i = base + iy * w + ix;
      if (best < 0 || isGreater(data[i], data[best])) best = i;
    }
  }
  return best;
}

/** max_pool2d: x [N,C,H,W] → [N,C,OH,OW], the max of each window. */
export function maxPool2d([x]: CpuInput[], attrs: PoolOpAttrs["max_pool2d"], out: CpuOutput): void {
  const [n, c, h, w] = x.shape;
  const [, , oh, ow] = out.shape;
  for (let plane = 0; plane < n * c; plane++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const i = firstMax(x.data, plane * h * w, h, w, oy, ox, attrs);
        out.data[(plane * oh + oy) * ow + ox] = i < 0 ? -Infinity : x.data[i];
      }
    }
  }
}

/**
 * max_pool2d_grad: (x, dy) → dx shaped like x. Each output cell's dy goes to
 * the first maximum of its window; overlapping windows accumulate.
 */
export function maxPool2dGrad(
  [x, dy]: CpuInput[],
  attrs: PoolOpAttrs["max_pool2d_grad"],
  out: CpuOutput,
): void {
  const [n, c, h, w] = x.shape;
  const [, , oh, ow] = dy.shape;
  const acc = new Float64Array(out.data.length);
  for (let plane = 0; plane < n * c; plane++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const i = firstMax(x.data, plane * h * w, h, w, oy, ox, attrs);
        if (i >= 0) acc[i] += dy.data[(plane * oh + oy) * ow + ox];
      }
    }
  }
  out.data.set(acc);
}

/** avg_pool2d: x [N,C,H,W] → [N,C,OH,OW], each window's sum / (kh·kw). */
export function avgPool2d([x]: CpuInput[], attrs: PoolOpAttrs["avg_pool2d"], out: CpuOutput): void {
  const [n, c, h, w] = x.shape;
  const [, , oh, ow] = out.shape;
  const [kh, kw] = attrs.kernel;
  const [sh, sw] = attrs.stride;
  const [ph, pw] = attrs.padding;
  for (let plane = 0; plane < n * c; plane++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let acc = 0;
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * sh - ph + ky;
          if (iy < 0 || iy >= h) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * sw - pw + kx;
            if (ix < 0 || ix >= w) continue;
            acc += x.data[(plane * h + iy) * w + ix];
          }
        }
        out.data[(plane * oh + oy) * ow + ox] = acc / (kh * kw);
      }
    }
  }
}

/**
 * avg_pool2d_grad: dy [N,C,OH,OW] → dx [N,C,H,W] (H, W from `attrs.inputHW`).
 * Each dx cell sums dy / (kh·kw) over the windows that cover it.
 */
export function avgPool2dGrad(
  [dy]: CpuInput[],
  attrs: PoolOpAttrs["avg_pool2d_grad"],
  out: CpuOutput,
): void {
  const [n, c, oh, ow] = dy.shape;
  const [h, w] = attrs.inputHW;
  const [kh, kw] = attrs.kernel;
  const [sh, sw] = attrs.stride;
  const [ph, pw] = attrs.padding;
  for (let plane = 0; plane < n * c; plane++) {
    for (let iy = 0; iy < h; iy++) {
      for (let ix = 0; ix < w; ix++) {
        let acc = 0;
        for (let ky = 0; ky < kh; ky++) {
          const ty = iy + ph - ky; // = oy·sh
          if (ty < 0 || ty % sh !== 0 || ty / sh >= oh) continue;
          for (let kx = 0; kx < kw; kx++) {
            const tx = ix + pw - kx; // = ox·sw
            if (tx < 0 || tx % sw !== 0 || tx / sw >= ow) continue;
            acc += dy.data[(plane * oh + ty / sh) * ow + tx / sw];
          }
        }
        out.data[(plane * h + iy) * w + ix] = acc / (kh * kw);
      }
    }
  }
}

/** The CPU reference of each pooling primitive. */
export const POOL_CPU: { [P in keyof PoolOpAttrs]: CpuKernel<PoolOpAttrs[P]> } = {
  max_pool2d: maxPool2d,
  max_pool2d_grad: maxPool2dGrad,
  avg_pool2d: avgPool2d,
  avg_pool2d_grad: avgPool2dGrad,
};
